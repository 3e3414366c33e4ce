package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// tiny is a configuration small enough for a unit test under -race.
func tiny() config {
	return config{duration: time.Second, rounds: 2, connections: 4, threads: 1, wrk: "wrk",
		tracked: 50, churners: 2, callers: 4, ops: 100, heapTasks: []int{300}}
}

func TestMeasureInProcess(t *testing.T) {
	cfg := tiny()
	in, err := measureInProcess(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]rate{"floor": in.floor, "pairs": in.pairs, "go": in.gos} {
		if r.ops != cfg.ops || r.elapsed <= 0 || r.exactErr != nil {
			t.Errorf("%s: %d ops in %s (want %d), exact: %v", name, r.ops, r.elapsed, cfg.ops, r.exactErr)
		}
	}
	if in.pairsVsFloor <= 0 || in.goVsFloor <= 0 {
		t.Errorf("ratios to the floor: pairs %v, go %v; want both measured", in.pairsVsFloor, in.goVsFloor)
	}
	if len(in.heap) != 1 || in.heap[0].tasks != 300 || in.heap[0].worksErr != nil {
		t.Fatalf("heap: %+v, want one measure of 300 tasks that all worked", in.heap)
	}
	if in.heap[0].bytes == 0 {
		t.Error("300 tracked tasks weigh nothing: the heap was measured before they were added")
	}
}

// mustChurn starts a churn of two goroutines on a supervisor of its own;
// when the test ends, the churn's goroutines end, then the supervisor.
func mustChurn(t *testing.T) *churn {
	t.Helper()
	sup, err := newSupervisor()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := shutdownSupervisor(sup); err != nil {
			t.Error(err)
		}
	})
	c := startChurn(sup, 2)
	t.Cleanup(func() { c.cancel(); c.wg.Wait() }) // a no-op after c.stop
	return c
}

func TestChurnStartsTasksUntilStopped(t *testing.T) {
	c := mustChurn(t)
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

// Every actor the floor spawns has stopped when it returns: the clock
// covers the whole stop, as measureGo's covers every task to its end.
func TestFloorWaitsForEveryStop(t *testing.T) {
	cfg := tiny()
	r, err := measureFloor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.ops != cfg.ops || r.elapsed <= 0 {
		t.Fatalf("floor: %d spawns and stops in %s, want %d", r.ops, r.elapsed, cfg.ops)
	}
}

// The rates are the round of median speed, not exact if any round was not;
// the ratios the median of each round's ratio to its own floor.
func TestMedianRatesAndRatios(t *testing.T) {
	s := time.Second
	floors := []rate{{ops: 100, elapsed: s}, {ops: 50, elapsed: s}, {ops: 90, elapsed: s}}
	gos := []rate{{ops: 60, elapsed: s}, {ops: 40, elapsed: s, exactErr: ErrInexact}, {ops: 45, elapsed: s}}
	if m := medianRate(gos); m.ops != 45 || !errors.Is(m.exactErr, ErrInexact) {
		t.Errorf("median rate %+v, want 45 ops, not exact", m)
	}
	if got := medianRatio(gos, floors); got != 0.6 { // of 0.6, 0.8 and 0.5
		t.Errorf("median ratio %v, want 0.6", got)
	}
}

// The churn counts its starts during the load only.
func TestChurnCountsStartsDuring(t *testing.T) {
	c := mustChurn(t)
	waitFor(t, func() bool { return c.starts.Load() >= 10 })
	var inside, outside int64
	during, err := c.during(func() error {
		inside = c.starts.Load()
		waitFor(t, func() bool { return c.starts.Load() >= inside+10 })
		outside = c.starts.Load()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	whole, err := c.stop(context.Background())
	if err != nil || whole.exactErr != nil {
		t.Fatalf("stop: %v, exact: %v", err, whole.exactErr)
	}
	if during.ops < int(outside-inside) || during.ops >= whole.ops || during.elapsed <= 0 {
		t.Fatalf("%d starts during, in %s; at least %d were, %d in all", during.ops, during.elapsed, outside-inside, whole.ops)
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
