package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
)

func TestNew_InvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  httpapi.Config
	}{
		{"no supervisor", httpapi.Config{}},
		{"negative body limit", httpapi.Config{Supervisor: mustSupervisor(t), MaxBodyBytes: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := httpapi.New(tt.cfg); !errors.Is(err, httpapi.ErrInvalidConfig) {
				t.Fatalf("New: %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestNoEntrypoint(t *testing.T) {
	_, base := mustServe(t, httpapi.Config{Debug: true})
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantBody   string
	}{
		{"invocation", `{"a": 1}`, 500, `{"error":"No entrypoint defined"}`},
		{"debug action works without one", `{"_agent_core_app_action": "job_status"}`, 200, `{"active_count":0,"running_jobs":[]}`},
		{"invalid JSON comes first", `{`, 400, `{"error":"Invalid JSON","details":"unexpected end of JSON input"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(t, base, tt.payload)
			if got.status != tt.wantStatus || got.body != tt.wantBody {
				t.Fatalf("got %d %s, want %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	_, base := mustServe(t, httpapi.Config{
		MaxBodyBytes: 16,
		Entrypoint:   func(context.Context, *httpapi.Request) (any, error) { return "ok", nil },
	})
	const want = `{"error":"Payload Too Large","details":"request body exceeds 16 bytes"}`
	tests := []struct {
		name    string
		body    string
		chunked bool // no Content-Length: the limit bites while reading
	}{
		{"declared length", `"` + strings.Repeat("x", 40) + `"`, false},
		{"chunked", `"` + strings.Repeat("x", 40) + `"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, base+"/invocations", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(struct{ io.Reader }{strings.NewReader(tt.body)}) // hides the length
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body strings.Builder
			_, _ = bufio.NewReader(res.Body).WriteTo(&body)
			if res.StatusCode != 413 || body.String() != want {
				t.Fatalf("got %d %s, want 413 %s", res.StatusCode, body.String(), want)
			}
		})
	}
	if got := post(t, base, `"small"`); got.status != 200 {
		t.Fatalf("a body under the limit: %d %s", got.status, got.body)
	}
}

func TestAccessLog(t *testing.T) {
	tests := []struct {
		name    string
		level   zerolog.Level
		method  string
		path    string
		wantLog []string // substrings of the request's log line; nil: no line
	}{
		{"404 is logged", zerolog.InfoLevel, "GET", "/nope", []string{`"method":"GET"`, `"path":"/nope"`, `"status":404`, `"size":21`, `"request_id":"rid-1"`, `"session_id":"sid-1"`, `"duration":`}},
		{"405 is logged", zerolog.InfoLevel, "DELETE", "/invocations", []string{`"status":405`}},
		{"ping is quiet at info", zerolog.InfoLevel, "GET", "/ping", nil},
		{"ping is logged at debug", zerolog.DebugLevel, "GET", "/ping", []string{`"level":"debug"`, `"path":"/ping"`, `"status":200`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			_, base := mustServe(t, httpapi.Config{Logger: logs.logger(tt.level)})
			do(t, tt.method, base+tt.path, "", http.Header{
				httpapi.HeaderRequestID: {"rid-1"},
				httpapi.HeaderSessionID: {"sid-1"},
			})
			line := requestLine(logs.String(), tt.path)
			if tt.wantLog == nil {
				if line != "" {
					t.Fatalf("logged %s", line)
				}
				return
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(line, want) {
					t.Errorf("log line %q lacks %s", line, want)
				}
			}
		})
	}
}

// requestLine is the access-log line of path, "" if none.
func requestLine(logs, path string) string {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, `"message":"request"`) && strings.Contains(line, `"path":"`+path+`"`) {
			return line
		}
	}
	return ""
}

func TestDrain(t *testing.T) {
	srv, base := mustServe(t, httpapi.Config{
		Entrypoint: func(context.Context, *httpapi.Request) (any, error) { return "ok", nil },
	})
	if got := post(t, base, `{}`); got.status != 200 {
		t.Fatalf("before Drain: %d %s", got.status, got.body)
	}
	srv.Drain()
	if got := post(t, base, `{}`); got.status != 503 || got.body != `{"error":"Agent is shutting down: no new invocations"}` {
		t.Fatalf("while draining: %d %s", got.status, got.body)
	}
	if got := do(t, "GET", base+"/ping", "", nil); got.status != 200 || !strings.HasPrefix(got.body, `{"status":"Healthy",`) {
		t.Fatalf("ping while draining: %d %s", got.status, got.body)
	}
}

func TestEntrypointPanicIsA500(t *testing.T) {
	var logs logBuffer
	_, base := mustServe(t, httpapi.Config{
		Logger:     logs.logger(zerolog.InfoLevel),
		Entrypoint: func(context.Context, *httpapi.Request) (any, error) { panic("oh no") },
	})
	for range 2 { // the process, and the server, live on
		if got := post(t, base, `{}`); got.status != 500 || got.body != `{"error":"oh no"}` {
			t.Fatalf("got %d %s", got.status, got.body)
		}
	}
	if !strings.Contains(logs.String(), `"stack":`) {
		t.Fatal("the panic's stack was not logged")
	}
}

func TestErrorStatuses(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{"plain error", errors.New("boom"), 500, `{"error":"boom"}`},
		{"HTTP error", httpapi.Error(422, "bad input"), 422, `{"error":"bad input"}`},
		{"wrapped HTTP error", errors.Join(httpapi.Errorf(409, "conflict on %s", "x")), 409, `{"error":"conflict on x"}`},
		{"unicode message", errors.New("é <b>"), 500, `{"error":"é <b>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := mustServe(t, httpapi.Config{
				Entrypoint: func(context.Context, *httpapi.Request) (any, error) { return nil, tt.err },
			})
			got := post(t, base, `{}`)
			if got.status != tt.wantStatus || got.body != tt.wantBody || got.header.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %s %q, want %d %s", got.status, got.body, got.header.Get("Content-Type"), tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestRequestDecode(t *testing.T) {
	_, base := mustServe(t, httpapi.Config{
		Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) {
			var in struct{ N int }
			if err := req.Decode(&in); err != nil {
				return nil, err
			}
			return in.N + 1, nil
		},
	})
	if got := post(t, base, `{"N": 41}`); got.status != 200 || got.body != "42" {
		t.Fatalf("got %d %s", got.status, got.body)
	}
	if got := post(t, base, `{"N": "x"}`); got.status != 400 || !strings.HasPrefix(got.body, `{"error":"decode payload: json: cannot unmarshal`) {
		t.Fatalf("got %d %s", got.status, got.body)
	}
}

func TestRequestContext(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   httpapi.Request // Payload and RequestID are checked apart
	}{
		{"nothing forwardable", http.Header{"User-Agent": {"x"}, "X-Forwarded-For": {"1.2.3.4"}, "Content-Type": {"text/plain"}}, httpapi.Request{}},
		{
			"platform headers", http.Header{
				"X-Amzn-Bedrock-Agentcore-Runtime-Session-Id": {"s-1"},
				"X-Amz-Bedrock-Agentcore-Identity-Wat":        {"wat-1"},
				"Oauth2callbackurl":                           {"https://cb"},
				"X-Amzn-Trace-Id":                             {"t"},
				"X-Amz-Date":                                  {"d"},
			},
			// The reference forwards the token and the callback headers too.
			httpapi.Request{SessionID: "s-1", WorkloadAccessToken: "wat-1", OAuth2CallbackURL: "https://cb", Headers: map[string]string{
				"oauth2callbackurl": "https://cb", "x-amz-bedrock-agentcore-identity-wat": "wat-1",
			}},
		},
		{"legacy token header", http.Header{"Workloadaccesstoken": {"wat-2"}}, httpapi.Request{
			WorkloadAccessToken: "wat-2", Headers: map[string]string{"workloadaccesstoken": "wat-2"},
		}},
		{
			"forwarded", http.Header{
				"Authorization": {"Bearer t"},
				"X-Amzn-Bedrock-Agentcore-Runtime-Custom-Tenant": {"acme"},
				"X-Team":            {"a", "b"},
				"Cookie":            {"c=1"},
				"Sec-Websocket-Key": {"x"},
			},
			httpapi.Request{Headers: map[string]string{
				"Authorization": "Bearer t",
				"x-amzn-bedrock-agentcore-runtime-custom-tenant": "acme",
				"x-team": "a, b",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan *httpapi.Request, 1)
			_, base := mustServe(t, httpapi.Config{
				Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) { got <- req; return nil, nil },
			})
			do(t, http.MethodPost, base+"/invocations", `{"k": 1}`, tt.header)
			req := <-got
			if string(req.Payload) != `{"k": 1}` || req.RequestID == "" {
				t.Errorf("payload %s, request id %q", req.Payload, req.RequestID)
			}
			if req.SessionID != tt.want.SessionID || req.WorkloadAccessToken != tt.want.WorkloadAccessToken ||
				req.OAuth2CallbackURL != tt.want.OAuth2CallbackURL {
				t.Errorf("got %+v, want %+v", req, tt.want)
			}
			gotHeaders, _ := json.Marshal(req.Headers)
			wantHeaders, _ := json.Marshal(tt.want.Headers)
			if string(gotHeaders) != string(wantHeaders) {
				t.Errorf("headers %s, want %s", gotHeaders, wantHeaders)
			}
		})
	}
}

func TestRequestIDFromHeader(t *testing.T) {
	got := make(chan string, 1)
	_, base := mustServe(t, httpapi.Config{
		Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) { got <- req.RequestID; return nil, nil },
	})
	do(t, http.MethodPost, base+"/invocations", `1`, http.Header{httpapi.HeaderRequestID: {"req-7"}})
	if id := <-got; id != "req-7" {
		t.Fatalf("request id %q", id)
	}
}

func TestStreamDisconnectStopsProducer(t *testing.T) {
	stopped := make(chan struct{})
	var sent atomic.Int64
	_, base := mustServe(t, httpapi.Config{
		Entrypoint: func(ctx context.Context, _ *httpapi.Request) (any, error) {
			return httpapi.Stream(func(yield func(any, error) bool) {
				defer close(stopped)
				for i := 0; ; i++ {
					if !yield(i, nil) {
						return
					}
					sent.Add(1)
				}
			}), nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/invocations", strings.NewReader(`{}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: 0\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	res.Body.Close()
	<-stopped // the test's deadline bounds this wait: a producer that never stops fails it
	if sent.Load() == 0 {
		t.Fatal("the producer never ran")
	}
}

func TestStreamPanicIsAnErrorEvent(t *testing.T) {
	_, base := mustServe(t, httpapi.Config{
		Entrypoint: func(context.Context, *httpapi.Request) (any, error) {
			return httpapi.Stream(func(yield func(any, error) bool) {
				if yield("a", nil) {
					panic("mid-stream")
				}
			}), nil
		},
	})
	got := post(t, base, `{}`)
	want := "data: \"a\"\n\ndata: {\"error\": \"mid-stream\", \"error_type\": \"PanicError\", \"message\": \"An error occurred during streaming\"}\n\n"
	if got.status != 200 || got.body != want {
		t.Fatalf("got %d %q, want %q", got.status, got.body, want)
	}
}

func TestWebSocket(t *testing.T) {
	failing := func(ctx context.Context, conn *websocket.Conn, _ *httpapi.Request) error {
		_, _, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		return errors.New("handler broke")
	}
	t.Run("a failing handler closes with 1011", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{WebSocket: failing})
		conn, ctx := mustDialWebSocket(t, base)
		if err := conn.Write(ctx, websocket.MessageText, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		_, _, err := conn.Read(ctx)
		if got := websocket.CloseStatus(err); got != websocket.StatusInternalError {
			t.Fatalf("close status %v (%v), want 1011", got, err)
		}
	})
	t.Run("no handler refuses the upgrade", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{})
		_, res, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/ws", nil)
		if err == nil || res == nil || res.StatusCode != 404 {
			t.Fatalf("dial: %v, %v", res, err)
		}
	})
	t.Run("a plain GET is told to upgrade", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{WebSocket: failing})
		got := do(t, "GET", base+"/ws", "", nil)
		if got.status != 426 || got.body != `{"error":"WebSocket upgrade required"}` || got.header.Get("Upgrade") != "websocket" {
			t.Fatalf("got %d %s %v", got.status, got.body, got.header)
		}
	})
	t.Run("shutdown ends open sessions", func(t *testing.T) {
		srv, base := mustServe(t, httpapi.Config{WebSocket: failing})
		conn, ctx := mustDialWebSocket(t, base)
		read := make(chan error, 1)
		go func() { _, _, err := conn.Read(ctx); read <- err }() // answers the close
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-read; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("client read %v, want close 1001", err)
		}
	})
}
