package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// greet is an entrypoint: a greeting, or a 422 for a payload without a name.
func greet(_ context.Context, req *httpapi.Request) (any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err // a 400
	}
	if in.Name == "" {
		return nil, httpapi.Error(422, "name is required")
	}
	return map[string]string{"greeting": "hello " + in.Name}, nil
}

// A Server is an http.Handler: here it answers two invocations without a
// listener. A success is spaced JSON, as the reference writes it; an error
// compact JSON.
func ExampleNew() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer sup.Shutdown(context.Background())
	srv, err := httpapi.New(httpapi.Config{Supervisor: sup, Entrypoint: greet})
	if err != nil {
		log.Fatal(err)
	}
	for _, payload := range []string{`{"name": "Ada"}`, `{}`} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(payload)))
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 {"greeting": "hello Ada"}
	// 422 {"error":"name is required"}
}

// listened is a log writer that hands over the address of Run's "listening"
// line: with Addr "127.0.0.1:0" the system picks the port.
type listened chan string

func (c listened) Write(line []byte) (int, error) {
	var l struct{ Message, Addr string }
	if json.Unmarshal(line, &l) == nil && l.Message == "listening" {
		c <- l.Addr // one such line: the channel holds it
	}
	return len(line), nil
}

// Run serves until SIGINT, SIGTERM or the end of its context, then drains
// and stops the supervisor too; main returns its error. Here the context
// ends after one invocation.
func ExampleServer_Run() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	addr := make(listened, 1)
	srv, err := httpapi.New(httpapi.Config{
		Supervisor: sup,
		Entrypoint: greet,
		Addr:       "127.0.0.1:0", // default 0.0.0.0:$PORT, or 8080
		Logger:     zerolog.New(addr),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()

	res, err := http.Post("http://"+<-addr+"/invocations", "application/json", strings.NewReader(`{"name": "Ada"}`))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, string(body))

	stop() // as a SIGTERM would
	fmt.Println("Run:", <-ran)
	// Output:
	// 200 {"greeting": "hello Ada"}
	// Run: <nil>
}
