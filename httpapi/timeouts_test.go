package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/httpapi"
)

// A keep-alive connection left idle is closed after Config.IdleTimeout; a
// request that runs longer than that is not cut.
func TestIdleTimeout(t *testing.T) {
	const idle = 100 * time.Millisecond
	_, addr := mustListen(t, httpapi.Config{
		IdleTimeout: idle,
		Entrypoint: func(ctx context.Context, _ *httpapi.Request) (any, error) {
			select { // a long invocation: three idle timeouts
			case <-time.After(3 * idle):
				return "done", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	})
	conn := mustDial(t, addr)
	br := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(body) != `"done"` {
		t.Fatalf("long invocation: %d %s", res.StatusCode, body)
	}
	// Now idle: the server closes the connection, well before the deadline.
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read %v, want EOF (closed by the server)", err)
	}
}

func TestNew_InvalidLimits(t *testing.T) {
	for _, cfg := range []httpapi.Config{
		{IdleTimeout: -time.Second},
		{WebSocketMessageTimeout: -time.Second},
		{WebSocketMaxMessageBytes: -1},
	} {
		cfg.Supervisor = mustSupervisor(t)
		if _, err := httpapi.New(cfg); !errors.Is(err, httpapi.ErrInvalidConfig) {
			t.Errorf("New(%+v): %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
