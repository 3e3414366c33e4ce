// Package testkit is what the project's tests share besides the leak check
// (leakcheck), the log sink (logbuf) and the real-process harness
// (proctest): waiting for a condition with a deadline, and stopping a
// supervisor at once.
package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// Timeout bounds every wait of the tests: a condition that takes longer is a
// failure, not a slow machine.
const Timeout = 30 * time.Second

// Eventually polls cond until it holds, failing the test after Timeout. It
// is for conditions no event announces (an answer over HTTP, a log line);
// in a testing/synctest bubble prefer synctest.Wait.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not a wait for an event
	}
}

// ShutdownNow shuts sup down, giving running tasks no time to finish.
func ShutdownNow(sup *supervisor.Supervisor) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = sup.Shutdown(ctx)
}
