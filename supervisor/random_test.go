package supervisor_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// fate is what a randomized task does, and the outcome it must end with.
type fate struct {
	name    string
	outcome string
	start   func(sup *supervisor.Supervisor, release <-chan struct{}) (supervisor.TaskID, error)
}

var quickRestart = supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 2, InitialBackoff: time.Millisecond, Jitter: 0.5})

var fates = []fate{
	{"success", "succeeded", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		return sup.Go("success", nil, func(context.Context) error { return nil })
	}},
	{"error", "failed", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		return sup.Go("error", nil, func(context.Context) error { return errors.New("no") })
	}},
	{"panic", "failed", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		return sup.Go("panic", nil, func(context.Context) error { panic("no") })
	}},
	{"timeout", "timed_out", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		return sup.Go("timeout", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			supervisor.WithTimeout(time.Millisecond))
	}},
	{"missed heartbeat", "failed", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		return sup.Go("missed heartbeat", nil, func(ctx context.Context) error {
			supervisor.Progress(ctx, 0.1, "one beat, then silence")
			<-ctx.Done()
			return ctx.Err()
		}, supervisor.WithHeartbeat(time.Millisecond))
	}},
	{"cancel", "cancelled", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		id, err := sup.Go("cancel", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		if err == nil && !sup.Cancel(id) {
			err = errors.New("Cancel answered false")
		}
		return id, err
	}},
	{"restart then success", "succeeded", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		var runs atomic.Int32
		return sup.Go("restart then success", nil, func(context.Context) error {
			if runs.Add(1) == 1 {
				return errors.New("first run fails")
			}
			return nil
		}, quickRestart)
	}},
	{"restart budget spent", "failed", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		return sup.Go("restart budget spent", nil, func(context.Context) error { panic("always") }, quickRestart)
	}},
	{"ignored cancellation", "abandoned", func(sup *supervisor.Supervisor, release <-chan struct{}) (supervisor.TaskID, error) {
		started := make(chan struct{})
		id, err := sup.Go("ignored cancellation", nil, func(context.Context) error { close(started); <-release; return nil },
			supervisor.WithCancelGrace(5*time.Millisecond))
		if err != nil {
			return id, err
		}
		<-started // else it may be cancelled before it runs, and end cancelled
		if !sup.Cancel(id) {
			err = errors.New("Cancel answered false")
		}
		return id, err
	}},
	{"manual, completed twice", "completed", func(sup *supervisor.Supervisor, _ <-chan struct{}) (supervisor.TaskID, error) {
		id := sup.AddAsyncTask("manual", nil)
		var done sync.WaitGroup
		var trues atomic.Int32
		for range 2 {
			done.Go(func() {
				if sup.CompleteAsyncTask(id) {
					trues.Add(1)
				}
			})
		}
		done.Wait()
		if trues.Load() != 1 {
			return id, errors.New("two concurrent completes did not answer true exactly once")
		}
		return id, nil
	}},
}

// Thousands of tasks with random fates, started from many goroutines at
// once: afterwards nothing is tracked, the status is Healthy, and every task
// ended once, with the outcome its fate implies.
func TestRandomizedTaskFates(t *testing.T) {
	const tasks, workers = 3000, 64
	sup, logs := mustNew(t, supervisor.Config{})
	release := make(chan struct{})
	defer close(release)

	var mu sync.Mutex // guards want
	want := make(map[supervisor.TaskID]string, tasks)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range tasks / workers {
				f := fates[rng.IntN(len(fates))]
				id, err := f.start(sup, release)
				if err != nil {
					t.Errorf("%s: %v", f.name, err)
					return
				}
				mu.Lock()
				want[id] = f.outcome
				mu.Unlock()
				sup.PingStatus() // readers race with the writers
			}
		})
	}
	wg.Wait()
	waitIdleWithin(t, sup, 30*time.Second)

	if p := sup.PingStatus(); p.Status != supervisor.Healthy {
		t.Fatalf("status %s after every task ended, want Healthy", p.Status)
	}
	if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 {
		t.Fatalf("registry not empty: %+v", info)
	}
	ended := make(map[supervisor.TaskID][]string)
	for _, l := range logs.find(t, "task over", 0) {
		id := supervisor.TaskID(l["task_id"].(float64))
		ended[id] = append(ended[id], l["outcome"].(string))
	}
	if len(want) != tasks-tasks%workers {
		t.Fatalf("%d tasks started, want %d", len(want), tasks-tasks%workers)
	}
	for id, outcome := range want {
		if got := ended[id]; len(got) != 1 || got[0] != outcome {
			t.Errorf("task %d: outcomes %v, want exactly [%s]", id, got, outcome)
		}
	}
}
