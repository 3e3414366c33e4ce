package httpapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/logbuf"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// mustSupervisor starts a supervisor that the test shuts down.
func mustSupervisor(tb testing.TB) *supervisor.Supervisor {
	tb.Helper()
	return mustSupervisorWith(tb, supervisor.Config{})
}

// mustSupervisorWith starts a supervisor of cfg, shut down after the test.
func mustSupervisorWith(tb testing.TB, cfg supervisor.Config) *supervisor.Supervisor {
	tb.Helper()
	sup, err := supervisor.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { testkit.ShutdownNow(sup) })
	return sup
}

// mustNew builds a server of cfg, with a supervisor of its own if cfg has
// none, and the SDK's tracer and meter providers if it has none, keeping
// nothing: every test's /invocations and /ws then go through otelhttp and
// its response writer, which must let streams flush and WebSocket sessions
// hijack the connection. (With the global providers, which no test sets,
// they would skip it.)
func mustNew(tb testing.TB, cfg httpapi.Config) *httpapi.Server {
	tb.Helper()
	if cfg.Supervisor == nil {
		cfg.Supervisor = mustSupervisor(tb)
	}
	if cfg.TracerProvider == nil {
		tp := sdktrace.NewTracerProvider()
		tb.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		cfg.TracerProvider = tp
	}
	if cfg.MeterProvider == nil {
		mp := sdkmetric.NewMeterProvider()
		tb.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		cfg.MeterProvider = mp
	}
	srv, err := httpapi.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

// mustServe serves cfg on 127.0.0.1:0 (with a supervisor of its own if cfg
// has none) and returns the server and its base URL.
func mustServe(tb testing.TB, cfg httpapi.Config) (*httpapi.Server, string) {
	tb.Helper()
	srv := mustNew(tb, cfg)
	ts := httptest.NewServer(srv)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return srv, ts.URL
}

// answer is a response read to its end.
type answer struct {
	status int
	header http.Header
	body   string
}

func do(tb testing.TB, method, url, body string, header http.Header) answer {
	tb.Helper()
	a := testkit.Do(tb, method, url, body, header)
	return answer{status: a.Status, header: a.Header, body: a.Body}
}

func post(tb testing.TB, base, body string) answer {
	tb.Helper()
	return do(tb, http.MethodPost, base+"/invocations", body, nil)
}

// logBuffer is a goroutine-safe log sink.
type logBuffer struct{ logbuf.Buffer }

func (l *logBuffer) logger(level zerolog.Level) zerolog.Logger {
	return zerolog.New(l).Level(level)
}

// mustListen serves cfg with Server.Serve on 127.0.0.1:0, so that the
// server's own http.Server settings (timeouts, refusals) apply, and returns
// the server and its address. The test's end shuts it down and waits for
// Serve to return.
func mustListen(tb testing.TB, cfg httpapi.Config) (*httpapi.Server, string) {
	tb.Helper()
	srv := mustNew(tb, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-served; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// mustDial opens a TCP connection to addr whose reads and writes fail after
// 5 s; the test's end closes it.
func mustDial(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		tb.Fatal(err)
	}
	return conn
}

// mustDialWebSocket opens a /ws session on the server at base (http://...)
// with a client whose calls fail after 30 s (a 16 MiB echo under the race
// detector, with every package testing at once on two cores, took over
// 10 s); the test's end closes it.
func mustDialWebSocket(tb testing.TB, base string) (*websocket.Conn, context.Context) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.CloseNow() })
	return conn, ctx
}

// rawExchange sends request on a new TCP connection and returns what the
// server sends back until it closes the connection, failing the test if it
// does not within 5 s.
func rawExchange(tb testing.TB, addr, request string) string {
	tb.Helper()
	conn := mustDial(tb, addr)
	if _, err := io.WriteString(conn, request); err != nil {
		tb.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		tb.Fatalf("read %q so far: %v", got, err)
	}
	return string(got)
}
