package main

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/proctest"
)

// kitchensinkBinary is the kitchensink built for the tests; TestMain removes it.
var kitchensinkBinary = proctest.NewBinary(".")

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { kitchensinkBinary.Remove() }))
}

// SIGTERM while a task runs past the drain and a WebSocket session is open:
// the task is cut and logged, the HTTP server still gets time of its own to
// stop and closes the session with 1001 (going away), and the kitchensink
// exits 0.
func TestSIGTERMWithARunningTaskExitsZero(t *testing.T) {
	addr := proctest.FreeAddr(t)
	p := proctest.Start(t, exec.Command(kitchensinkBinary.Path(t), "-addr", addr, "-drain-timeout", "1s"), "http://"+addr)
	if status, body := p.Invoke(t, `{"action": "process", "data_id": "big", "seconds": 3600}`); status != http.StatusOK {
		t.Fatalf("process: %d %s", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Timeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"hi": 1}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.Read(ctx); err != nil || string(msg) != `{"echo": {"hi": 1}, "session_id": null}` {
		t.Fatalf("echo: %q %v", msg, err)
	}
	p.Signal(t, syscall.SIGTERM)
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("session ended with %v, want close 1001", err)
	}
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0; logs:\n%s", code, p.Logs.String())
	}
	if len(p.Lines("tasks cut by the drain timeout")) != 1 || len(p.Lines("stopped")) != 1 ||
		strings.Contains(p.Logs.String(), `"level":"error"`) {
		t.Fatalf("want the task cut, no error and a clean stop; logs:\n%s", p.Logs.String())
	}
}

// SIGTERM with no task: the stop does not wait for the drain timeout (an
// hour here), it exits 0 at once.
func TestSIGTERMWhenIdleExitsAtOnce(t *testing.T) {
	addr := proctest.FreeAddr(t)
	p := proctest.Start(t, exec.Command(kitchensinkBinary.Path(t), "-addr", addr, "-drain-timeout", "1h"), "http://"+addr)
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t); code != 0 { // WaitExit gives up after proctest.Timeout, far below an hour
		t.Fatalf("exit code %d, want 0; logs:\n%s", code, p.Logs.String())
	}
	if len(p.Lines("stopped")) != 1 || len(p.Lines("tasks cut by the drain timeout")) != 0 {
		t.Fatalf("want a clean stop with nothing cut; logs:\n%s", p.Logs.String())
	}
}
