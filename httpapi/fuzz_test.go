package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentvisor/agentvisor/httpapi"
)

// errChosen is the only 5xx the fuzzed handler answers on purpose.
var errChosen = errors.New("chosen failure")

// fuzzServer is a debug-mode server whose entrypoint echoes the request
// context and fails when the payload asks; it serves through ServeHTTP, so a
// fuzz iteration costs no network round trip.
func fuzzServer(tb testing.TB) *httpapi.Server {
	srv, err := httpapi.New(httpapi.Config{
		Supervisor:   mustSupervisor(tb),
		Debug:        true,
		MaxBodyBytes: 1 << 16,
		Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) {
			if strings.Contains(string(req.Payload), "fail") {
				return nil, errChosen
			}
			return map[string]any{"echo": req.Payload, "headers": req.Headers, "session": req.SessionID}, nil
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return srv
}

// checkAnswer holds for every answer: never a 5xx but the handler's own,
// always one valid JSON body.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 && string(body) != `{"error":"chosen failure"}` {
		t.Fatalf("status %d, body %s", rec.Code, body)
	}
	if !json.Valid(body) {
		t.Fatalf("status %d, invalid JSON body %q", rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
}

func FuzzInvocationBody(f *testing.F) {
	for _, seed := range []string{
		`{"a": 1}`, `"text"`, `[1, 2.5e3, -0]`, ``, `{`, "\xff\xfe", "\xef\xbb\xbf{}", `{"fail": true}`,
		`{"_agent_core_app_action": "job_status"}`, `{"_agent_core_app_action": 1.5}`, `{"_agent_core_app_action": [0]}`,
		`"\ud800"`, `"a\u2028"`, `1e400`, `{"a":"\u0000<>&"}`,
	} {
		f.Add([]byte(seed))
	}
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(string(body))))
		checkAnswer(t, rec)
	})
}

func FuzzInvocationHeaders(f *testing.F) {
	f.Add("X-Amzn-Bedrock-AgentCore-Runtime-Custom-A", "v", "session-1", "req-1")
	f.Add("Authorization", "Bearer \x00x", "", "")
	f.Add("X-Forwarded-For", "é", "\xff", "\"")
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, name, value, session, requestID string) {
		req := httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(`{"k": "v"}`))
		req.Header[name] = []string{value} // raw, as a client could send it
		req.Header.Set(httpapi.HeaderSessionID, session)
		req.Header.Set(httpapi.HeaderRequestID, requestID)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		checkAnswer(t, rec)
	})
}
