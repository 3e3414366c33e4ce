package supervisor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/supervisor"
)

// protoactor logs a dead letter (such as a second stop sent to a task actor
// that just stopped) through a throttle whose goroutine lives for the throttle
// interval, 1s; nothing can stop it early.
var deadLetterThrottle = goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, deadLetterThrottle) }

// inBubble runs f in a synctest bubble (virtual time). Last of all it lets
// virtual time pass protoactor's 1s dead-letter throttle, whose goroutine
// must end before the bubble can.
func inBubble(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		t.Cleanup(func() { time.Sleep(2 * time.Second) })
		f(t)
	})
}

// logBuffer collects JSON log lines from many goroutines.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns every log line decoded, in order.
func (b *logBuffer) lines(tb testing.TB) []map[string]any {
	tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(raw) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			tb.Fatalf("log line %q: %v", raw, err)
		}
		out = append(out, m)
	}
	return out
}

// find returns the log lines whose message is msg and, if id is not zero,
// whose task_id is id.
func (b *logBuffer) find(tb testing.TB, msg string, id supervisor.TaskID) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, l := range b.lines(tb) {
		if l["message"] == msg && (id == 0 || l["task_id"] == float64(id)) {
			out = append(out, l)
		}
	}
	return out
}

// mustNew starts a supervisor that logs at debug level into the returned
// buffer, and shuts it down at the end of the test.
func mustNew(tb testing.TB, cfg supervisor.Config) (*supervisor.Supervisor, *logBuffer) {
	tb.Helper()
	logs := &logBuffer{}
	cfg.Logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	sup, err := supervisor.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { shutdownNow(tb, sup) })
	return sup, logs
}

// shutdownNow shuts sup down, giving running tasks no time to finish.
func shutdownNow(tb testing.TB, sup *supervisor.Supervisor) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = sup.Shutdown(ctx)
}

// eventually waits up to 10 s for cond to hold.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval of a condition wait
	}
}

// waitIdle waits up to 10 s for no task to be tracked.
func waitIdle(tb testing.TB, sup *supervisor.Supervisor) {
	tb.Helper()
	waitIdleWithin(tb, sup, 10*time.Second)
}

// waitIdleWithin waits up to d for no task to be tracked; in a synctest
// bubble d is virtual time.
func waitIdleWithin(tb testing.TB, sup *supervisor.Supervisor, d time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := sup.WaitIdle(ctx); err != nil {
		tb.Fatalf("wait idle: %v", err)
	}
}

// taskNode finds task id in the tree, or returns nil.
func taskNode(tb testing.TB, sup *supervisor.Supervisor, id supervisor.TaskID) *supervisor.TaskNode {
	tb.Helper()
	tree, err := sup.Tree(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range tree.Children {
		for _, c := range n.Children {
			if c.Task != nil && c.Task.ID == id {
				return c.Task
			}
		}
	}
	return nil
}
