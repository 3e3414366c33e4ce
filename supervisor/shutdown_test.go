package supervisor_test

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// Shutdown refuses new work at once, stays busy while tasks drain, and
// returns nil when they all finish in time.
func TestShutdownDrains(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		id, _ := sup.Go("job", nil, func(ctx context.Context) error {
			select {
			case <-time.After(5 * time.Second):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- sup.Shutdown(ctx) }()
		time.Sleep(time.Second)
		synctest.Wait()
		if _, err := sup.Go("late", nil, func(context.Context) error { return nil }); !errors.Is(err, supervisor.ErrShuttingDown) {
			t.Fatalf("Go while draining: %v, want ErrShuttingDown", err)
		}
		if id := sup.AddAsyncTask("late", nil); id != 0 {
			t.Fatalf("AddAsyncTask while draining tracked %d", id)
		}
		if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
			t.Fatalf("draining with a task left: %s, want HealthyBusy", s)
		}
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v, want nil (the task finished in time)", err)
		}
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "succeeded" {
			t.Fatalf("task over %v, want succeeded", over)
		}
	})
}

// Tasks still running at the deadline are cancelled, and each one is logged
// by id and name.
func TestShutdownCutsAndLogs(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		long, _ := sup.Go("long", map[string]any{"k": "v"}, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		manual := sup.AddAsyncTask("manual", nil)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		err := sup.Shutdown(ctx)
		if !errors.Is(err, supervisor.ErrTasksCut) || err.Error() != "shutdown: 2 tasks: tasks cut by shutdown" {
			t.Fatalf("Shutdown: %v, want ErrTasksCut counting 2 tasks", err)
		}
		if waited := time.Since(start); waited != 3*time.Second {
			t.Fatalf("Shutdown took %s, want the 3s drain", waited)
		}
		for _, id := range []supervisor.TaskID{long, manual} {
			cut := logs.find(t, "task did not finish before shutdown; cancelled", id)
			if len(cut) != 1 || cut[0]["task_name"] == "" {
				t.Errorf("task %d: cut lines %v, want one naming it", id, cut)
			}
			if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "cancelled" {
				t.Errorf("task %d: task over %v, want cancelled", id, over)
			}
		}
	})
}

// A function that ignores cancellation cannot hold Shutdown past the grace.
func TestShutdownAbandonsIgnoredCancellation(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{CancelGrace: 2 * time.Second})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		id, _ := sup.Go("stubborn", nil, func(context.Context) error { <-release; return nil })
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := sup.Shutdown(ctx); !errors.Is(err, supervisor.ErrTasksCut) || err.Error() != "shutdown: 1 task: tasks cut by shutdown" {
			t.Fatalf("Shutdown: %v, want ErrTasksCut counting 1 task (not 1 tasks)", err)
		}
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "abandoned" {
			t.Fatalf("task over %v, want abandoned", over)
		}
		if len(logs.find(t, "task or ping functions still running after shutdown: they ignore cancellation and Go cannot stop them", 0)) != 1 {
			t.Fatal("the goroutine left running was not logged")
		}
	})
}

// After Shutdown every method answers at once, and Shutdown again returns the
// first result.
func TestAfterShutdown(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	sup.AddAsyncTask("cut", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	first := sup.Shutdown(ctx)
	if !errors.Is(first, supervisor.ErrTasksCut) {
		t.Fatalf("Shutdown: %v, want ErrTasksCut", first)
	}
	if again := sup.Shutdown(context.Background()); again != first {
		t.Fatalf("second Shutdown %v, want the first result %v", again, first)
	}
	if _, err := sup.Go("x", nil, func(context.Context) error { return nil }); !errors.Is(err, supervisor.ErrShuttingDown) {
		t.Errorf("Go: %v", err)
	}
	if sup.AddAsyncTask("x", nil) != 0 || sup.CompleteAsyncTask(1) || sup.Cancel(1) {
		t.Error("task calls after Shutdown did something")
	}
	if err := sup.ForcePingStatus(supervisor.HealthyBusy); !errors.Is(err, supervisor.ErrShuttingDown) {
		t.Errorf("ForcePingStatus: %v", err)
	}
	if _, err := sup.Tree(context.Background()); !errors.Is(err, supervisor.ErrShuttingDown) {
		t.Errorf("Tree: %v", err)
	}
	if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 {
		t.Errorf("AsyncTaskInfo: %+v", info)
	}
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		t.Errorf("PingStatus: %s, want Healthy", s)
	}
}

// The library prints nothing itself: protoactor's logs go through zerolog.
func TestNothingOnStdoutOrStderr(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	printed := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		printed <- b
	}()
	func() {
		defer func() { os.Stdout, os.Stderr = stdout, stderr }()
		sup, logs := mustNew(t, supervisor.Config{})
		for _, fn := range []func(context.Context) error{
			func(context.Context) error { panic("p") },
			func(context.Context) error { return errors.New("e") },
		} {
			sup.Go("noisy", nil, fn, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1, InitialBackoff: time.Millisecond}))
		}
		waitIdle(t, sup)
		testkit.ShutdownNow(sup)
		if len(logs.find(t, "actor system started", 0)) != 1 {
			t.Error("protoactor's log did not reach zerolog")
		}
	}()
	w.Close()
	if b := <-printed; len(b) > 0 {
		t.Fatalf("printed to stdout or stderr: %q", b)
	}
}
