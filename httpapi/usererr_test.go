package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// NilErr's Error reads its receiver: returned as a typed nil pointer
// (var e *NilErr; return e), it is a non-nil error whose Error panics.
type NilErr struct{ msg string }

func (e *NilErr) Error() string { return e.msg }

// typedNil is the mistake the tests make on purpose.
func typedNil() error {
	var e *NilErr
	return e
}

// A user error whose Error method panics is answered like any other error,
// its text naming its type, and never reaches the panic handler.
func TestTypedNilUserErrors(t *testing.T) {
	const wantText = "*httpapi_test.NilErr (its Error method panicked"
	t.Run("entrypoint error is a 500 naming the type", func(t *testing.T) {
		var logs logBuffer
		sup := mustSupervisor(t)
		_, base := mustServe(t, httpapi.Config{
			Supervisor: sup,
			Logger:     logs.logger(zerolog.InfoLevel),
			Entrypoint: func(context.Context, *httpapi.Request) (any, error) { return nil, typedNil() },
		})
		got := post(t, base, `{}`)
		var body struct{ Error string }
		if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.status != 500 ||
			!strings.HasPrefix(body.Error, wantText) || got.header.Get("Content-Type") != "application/json" {
			t.Fatalf("got %d %s, want 500 {\"error\":\"%s...\"}", got.status, got.body, wantText)
		}
		if !strings.Contains(logs.String(), wantText) {
			t.Errorf("the failure's log lacks %q:\n%s", wantText, logs.String())
		}
		if n := sup.Panics()[supervisor.PanicHTTP]; n != 0 {
			t.Errorf("%d panics reached the middleware", n)
		}
	})
	t.Run("a typed nil *HTTPError is a 500 naming the type", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{
			Entrypoint: func(context.Context, *httpapi.Request) (any, error) {
				var e *httpapi.HTTPError
				return nil, e
			},
		})
		got := post(t, base, `{}`)
		if got.status != 500 || !strings.HasPrefix(got.body, `{"error":"*httpapi.HTTPError (its Error method panicked`) {
			t.Fatalf("got %d %s", got.status, got.body)
		}
	})
	t.Run("stream error is the last event", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{
			Entrypoint: func(context.Context, *httpapi.Request) (any, error) {
				return httpapi.Stream(func(yield func(any, error) bool) {
					if yield("a", nil) {
						yield(nil, typedNil())
					}
				}), nil
			},
		})
		got := post(t, base, `{}`)
		events := strings.Split(strings.TrimSuffix(got.body, "\n\n"), "\n\n")
		var last struct {
			Error     string `json:"error"`
			ErrorType string `json:"error_type"`
			Message   string `json:"message"`
		}
		if got.status != 200 || len(events) != 2 || events[0] != `data: "a"` ||
			json.Unmarshal([]byte(strings.TrimPrefix(events[len(events)-1], "data: ")), &last) != nil ||
			!strings.HasPrefix(last.Error, wantText) || last.ErrorType != "NilErr" {
			t.Fatalf("got %d %q, want a last error event naming the type", got.status, got.body)
		}
	})
	t.Run("WebSocket handler error closes with 1011", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{
			WebSocket: func(context.Context, *websocket.Conn, *httpapi.Request) error { return typedNil() },
		})
		conn, ctx := mustDialWebSocket(t, base)
		_, _, err := conn.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusInternalError || !strings.HasPrefix(ce.Reason, wantText[:20]) {
			t.Fatalf("read: %v, want close 1011 naming the type", err)
		}
	})
}

// An HTTPError whose status cannot carry an error answer (net/http refuses
// it, or sends it without a body) is answered 500, its message kept, and
// logged with the status it asked for.
func TestHTTPErrorInvalidStatus(t *testing.T) {
	for _, status := range []int{
		-1, 0, 99, 1000, // net/http panics on these
		100, 101, 103, // informational: net/http would send 200 after them
		204, 304, // no body allowed
	} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var logs logBuffer
			_, base := mustServe(t, httpapi.Config{
				Logger: logs.logger(zerolog.InfoLevel),
				Entrypoint: func(context.Context, *httpapi.Request) (any, error) {
					return nil, httpapi.Error(status, "x")
				},
			})
			got := post(t, base, `{}`)
			if got.status != 500 || got.body != `{"error":"x"}` {
				t.Fatalf("got %d %q, want 500 {\"error\":\"x\"}", got.status, got.body)
			}
			if want := `"invalid_status":` + strconv.Itoa(status); !strings.Contains(logs.String(), want) {
				t.Errorf("the log lacks %s:\n%s", want, logs.String())
			}
		})
	}
}
