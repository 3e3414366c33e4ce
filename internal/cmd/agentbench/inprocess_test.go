package main

import (
	"context"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// tiny is a configuration small enough for a unit test under -race.
func tiny() config {
	return config{duration: time.Second, connections: 4, threads: 1, wrk: "wrk",
		tracked: 50, churners: 2, callers: 4, ops: 100, heapTasks: []int{300}}
}

func TestMeasureInProcess(t *testing.T) {
	cfg := tiny()
	in, err := measureInProcess(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]rate{"pairs": in.pairs, "go": in.gos} {
		if r.ops != cfg.ops || r.exactErr != nil {
			t.Errorf("%s: %d ops (want %d), exact: %v", name, r.ops, cfg.ops, r.exactErr)
		}
	}
	if len(in.heap) != 1 || in.heap[0].tasks != 300 || in.heap[0].worksErr != nil {
		t.Fatalf("heap: %+v, want one measure of 300 tasks that all worked", in.heap)
	}
	if in.heap[0].bytes == 0 {
		t.Error("300 tracked tasks weigh nothing: the heap was measured before they were added")
	}
}

func TestChurnStartsTasksUntilStopped(t *testing.T) {
	a, err := startAgent(config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Error(err)
		}
	})
	c := startChurn(a.sup, 2)
	waitFor(t, func() bool { return c.starts.Load() >= 20 })
	r, err := c.stop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.ops < 20 || r.exactErr != nil {
		t.Fatalf("%d starts, exact: %v; want at least 20 and exact", r.ops, r.exactErr)
	}
	if after := c.starts.Load(); after != int64(r.ops) {
		t.Fatalf("%d starts after stop, %d reported: the churn outlived stop", after, r.ops)
	}
}

func TestParallelRunsEveryIndexOnce(t *testing.T) {
	for _, tt := range []struct{ workers, n int }{{4, 10}, {10, 3}, {1, 5}, {3, 0}} {
		seen := make([]int, tt.n)
		if err := parallel(tt.workers, tt.n, func(i int) error { seen[i]++; return nil }); err != nil {
			t.Fatal(err)
		}
		for i, c := range seen {
			if c != 1 {
				t.Errorf("workers %d, n %d: index %d run %d times", tt.workers, tt.n, i, c)
			}
		}
	}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
