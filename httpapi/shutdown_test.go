package httpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
)

// expired is a context that is already done, as after a task drain that
// used up the stop's whole budget.
func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Shutdown tells every open session's client that the server is going away
// (1001), even with a context already done, and returns nil once handlers
// that honour their context have returned.
func TestShutdownClosesSessionsGoingAway(t *testing.T) {
	handlers := []struct {
		name string
		run  httpapi.WebSocketHandler
	}{
		{"handler reading", func(ctx context.Context, conn *websocket.Conn, _ *httpapi.Request) error {
			_, _, err := conn.Read(ctx)
			return err
		}},
		{"handler waiting", func(ctx context.Context, _ *websocket.Conn, _ *httpapi.Request) error {
			<-ctx.Done()
			return ctx.Err()
		}},
	}
	for _, h := range handlers {
		t.Run(h.name, func(t *testing.T) {
			var logs logBuffer
			started := make(chan struct{})
			srv, addr := mustListen(t, httpapi.Config{
				Logger: logs.logger(zerolog.InfoLevel),
				WebSocket: func(ctx context.Context, conn *websocket.Conn, req *httpapi.Request) error {
					close(started)
					return h.run(ctx, conn, req)
				},
			})
			conn, ctx := mustDialWebSocket(t, "http://"+addr)
			<-started
			read := make(chan error, 1)
			go func() { _, _, err := conn.Read(ctx); read <- err }() // answers the close, as clients do
			if err := srv.Shutdown(expired()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			var ce websocket.CloseError
			if err := <-read; !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
				t.Errorf("client read %v, want close 1001", err)
			}
			if strings.Contains(logs.String(), "still running") {
				t.Errorf("logged handlers still running:\n%s", logs.String())
			}
		})
	}
}

// With no session, a Shutdown whose context is already done has nothing to
// wait for: no error, nothing logged about WebSocket handlers.
func TestShutdownWithoutSessions(t *testing.T) {
	for range 20 { // the wait used to pick at random between "done" and "context over"
		var logs logBuffer
		srv, _ := mustListen(t, httpapi.Config{
			Logger:    logs.logger(zerolog.InfoLevel),
			WebSocket: func(context.Context, *websocket.Conn, *httpapi.Request) error { return nil },
		})
		if err := srv.Shutdown(expired()); err != nil {
			t.Fatalf("Shutdown: %v\n%s", err, logs.String())
		}
		if strings.Contains(logs.String(), "WebSocket") {
			t.Fatalf("logged:\n%s", logs.String())
		}
	}
}
