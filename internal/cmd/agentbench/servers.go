package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// ErrWrongAnswer is a server under test that answered something other than
// what the scenario measures.
var ErrWrongAnswer = errors.New("wrong answer")

// stopTimeout bounds the stop of a server and of a supervisor; wrk has
// finished by then, so they have nothing left to wait for.
const stopTimeout = 10 * time.Second

// barePingBody is what the bare ping handler answers: the same bytes as the
// agent's, so that every ping scenario moves the same amount of data.
var (
	barePingBody = []byte(`{"status":"Healthy","time_of_last_update":1795319144}`)
	jsonType     = []string{"application/json"}
)

// barePing is the ceiling: the least a net/http handler can do to answer a
// ping.
func barePing(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, barePingBody)
}

// bareEcho is the ceiling for POSTs: it reads the body, as any handler of a
// payload must, and answers it back, as (5)'s entrypoint does, so that both
// move the same bytes each way.
func bareEcho(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, body)
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header()["Content-Type"] = jsonType
	_, _ = w.Write(body)
}

// echoEntrypoint is the agent's cheapest useful invocation: it answers the
// payload, which the agent writes back in the reference's JSON encoding;
// postBody is already in that encoding, so the answer is the same bytes.
func echoEntrypoint(_ context.Context, req *httpapi.Request) (any, error) {
	return req.Payload, nil
}

// servable is what both *http.Server and *httpapi.Server offer.
type servable interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// server is a servable serving on 127.0.0.1:0. It owns the Serve goroutine:
// close stops it and waits for it.
type server struct {
	srv    servable
	base   string     // "http://127.0.0.1:port"
	served chan error // Serve's result; size 1, read once by close
}

func listen(srv servable) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &server{srv: srv, base: "http://" + ln.Addr().String(), served: make(chan error, 1)}
	go func() { s.served <- srv.Serve(ln) }()
	return s, nil
}

func (s *server) url(path string) string { return s.base + path }

func (s *server) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	serveErr := <-s.served
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return errors.Join(err, serveErr)
}

// serveBare serves h with a plain http.Server.
func serveBare(h http.HandlerFunc) (*server, error) {
	return listen(&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second})
}

// agent is a real agent in this process: a supervisor and an httpapi.Server
// answering echoEntrypoint.
type agent struct {
	sup *supervisor.Supervisor
	*server
}

// agentLogger logs at info level, as a deployed agent does, into io.Discard:
// the cost of building each log line is measured, the terminal is spared.
func agentLogger() zerolog.Logger { return zerolog.New(io.Discard).Level(zerolog.InfoLevel) }

// newSupervisor is the supervisor of an agent under HTTP load.
func newSupervisor() (*supervisor.Supervisor, error) {
	return supervisor.New(supervisor.Config{Logger: agentLogger()})
}

func startAgent(config) (*agent, error) {
	sup, err := newSupervisor()
	if err != nil {
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{Supervisor: sup, Logger: agentLogger(), Entrypoint: echoEntrypoint})
	if err != nil {
		return nil, errors.Join(err, shutdownSupervisor(sup))
	}
	srv, err := listen(api)
	if err != nil {
		return nil, errors.Join(err, shutdownSupervisor(sup))
	}
	return &agent{sup: sup, server: srv}, nil
}

// stop stops the HTTP server, then the supervisor.
func (a *agent) stop() error {
	return errors.Join(a.close(), shutdownSupervisor(a.sup))
}

func shutdownSupervisor(sup *supervisor.Supervisor) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := sup.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown supervisor: %w", err)
	}
	return nil
}

// checkAnswer sends one request and checks that the answer is a 200 whose
// body contains want, so that no scenario measures an error page.
func checkAnswer(ctx context.Context, url string, post bool, want string) error {
	method, body := http.MethodGet, io.Reader(nil)
	if post {
		method, body = http.MethodPost, strings.NewReader(postBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return err
	}
	req.Close = true // no idle connection, no transport goroutine left behind
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("check %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("check %s %s: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), want) {
		return fmt.Errorf("%s %s: %d %s, want 200 with %q: %w", method, url, resp.StatusCode, got, want, ErrWrongAnswer)
	}
	return nil
}
