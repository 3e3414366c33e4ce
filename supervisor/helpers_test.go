package supervisor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/logbuf"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

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
type logBuffer struct{ logbuf.Buffer }

// find returns the log lines whose message is msg and, if id is not zero,
// whose task_id is id.
func (b *logBuffer) find(tb testing.TB, msg string, id supervisor.TaskID) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, l := range b.Lines(tb) {
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
	tb.Cleanup(func() { testkit.ShutdownNow(sup) })
	return sup, logs
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
