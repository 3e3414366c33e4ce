package supervisor_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

func TestAddAndCompleteReadYourWrites(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		t.Fatalf("new supervisor is %s, want Healthy", s)
	}
	a := sup.AddAsyncTask("upload", map[string]any{"file": "a.csv"})
	if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
		t.Fatalf("after AddAsyncTask: %s, want HealthyBusy", s)
	}
	b := sup.AddAsyncTask("upload", nil)
	if a == 0 || b == 0 || a == b {
		t.Fatalf("ids %d and %d: want two distinct non-zero ids", a, b)
	}
	info := sup.AsyncTaskInfo()
	if info.ActiveCount != 2 || info.RunningJobs[0].ID != a || info.RunningJobs[1].ID != b {
		t.Fatalf("info %+v: want tasks %d then %d", info, a, b)
	}
	if !sup.CompleteAsyncTask(a) {
		t.Fatal("completing a tracked task answered false")
	}
	if sup.CompleteAsyncTask(a) {
		t.Fatal("completing it twice answered true")
	}
	if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
		t.Fatalf("one of two completed: %s, want HealthyBusy", s)
	}
	if !sup.CompleteAsyncTask(b) {
		t.Fatal("completing the last task answered false")
	}
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		t.Fatalf("after the last CompleteAsyncTask: %s, want Healthy at once", s)
	}
	if sup.CompleteAsyncTask(9_999_999) {
		t.Fatal("completing an unknown id answered true")
	}
	if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 || len(info.RunningJobs) != 0 {
		t.Fatalf("info %+v after all completed, want empty", info)
	}
}

func TestManualTaskIsAnActor(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	id := sup.AddAsyncTask("manual", map[string]any{"note": "n"})
	node := taskNode(t, sup, id)
	if node == nil || !node.Manual || node.Name != "manual" || node.Metadata["note"] != "n" || node.State != supervisor.StateRunning {
		t.Fatalf("tree node %+v, want a running manual task", node)
	}
	sup.CompleteAsyncTask(id)
	testkit.Eventually(t, "the manual task's actor to stop", func() bool { return taskNode(t, sup, id) == nil })
}

func TestGoReadYourWritesAndSuccess(t *testing.T) {
	sup, logs := mustNew(t, supervisor.Config{})
	release := make(chan struct{})
	id, err := sup.Go("job", nil, func(ctx context.Context) error { <-release; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
		t.Fatalf("after Go returned: %s, want HealthyBusy", s)
	}
	if sup.CompleteAsyncTask(id) {
		t.Fatal("CompleteAsyncTask completed a function task")
	}
	close(release)
	waitIdle(t, sup)
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		t.Fatalf("after the task returned: %s, want Healthy", s)
	}
	over := logs.find(t, "task over", id)
	if len(over) != 1 || over[0]["outcome"] != "succeeded" {
		t.Fatalf("task over lines %v, want one succeeded", over)
	}
}

func ptr[T any](v T) *T { return &v }

func TestGoRejectsBadInput(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	ok := func(context.Context) error { return nil }
	tests := []struct {
		name string
		fn   func(context.Context) error
		opt  *supervisor.TaskOption
	}{
		{"nil function", nil, nil},
		{"zero option", ok, &supervisor.TaskOption{}},
		{"zero timeout", ok, ptr(supervisor.WithTimeout(0))},
		{"negative grace", ok, ptr(supervisor.WithCancelGrace(-time.Second))},
		{"negative restarts", ok, ptr(supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: -1}))},
		{"jitter above 1", ok, ptr(supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1, Jitter: 1.5}))},
		{"more restarts than the history holds", ok, ptr(supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1000}))},
		{"initial above max backoff", ok, ptr(supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1, InitialBackoff: time.Minute, MaxBackoff: time.Second}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []supervisor.TaskOption
			if tt.opt != nil {
				opts = append(opts, *tt.opt)
			}
			id, err := sup.Go("bad", nil, tt.fn, opts...)
			if !errors.Is(err, supervisor.ErrInvalidOption) || id != 0 {
				t.Fatalf("Go = %d, %v; want 0 and ErrInvalidOption", id, err)
			}
			if s := sup.PingStatus().Status; s != supervisor.Healthy {
				t.Fatalf("a refused task made the status %s", s)
			}
		})
	}
}

// Every way a function can end without success leaves the registry exactly once.
func TestGoFailuresLeaveOnce(t *testing.T) {
	tests := []struct {
		name    string
		fn      func(ctx context.Context) error
		opts    []supervisor.TaskOption
		outcome string
		errText string // in the "task attempt failed" line; empty: no such line
	}{
		{"error", func(context.Context) error { return errors.New("disk full") }, nil, "failed", "disk full"},
		{"panic", func(context.Context) error { panic("kaboom") }, nil, "failed", "panic: kaboom"},
		{"nil panic", func(context.Context) error { panic(nil) }, nil, "failed", "panic called with nil"},
		{"goexit", func(context.Context) error { runtime.Goexit(); return nil }, nil, "failed", "runtime.Goexit"},
		{"timeout", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			[]supervisor.TaskOption{supervisor.WithTimeout(10 * time.Millisecond)}, "timed_out", "task timed out after 10ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sup, logs := mustNew(t, supervisor.Config{})
			id, err := sup.Go(tt.name, nil, tt.fn, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			waitIdle(t, sup)
			over := logs.find(t, "task over", id)
			if len(over) != 1 || over[0]["outcome"] != tt.outcome {
				t.Fatalf("task over lines %v, want one %s", over, tt.outcome)
			}
			failed := logs.find(t, "task attempt failed; not restarting", id)
			if len(failed) != 1 || !strings.Contains(failed[0]["error"].(string), tt.errText) {
				t.Fatalf("failure lines %v, want one with %q", failed, tt.errText)
			}
			if s := sup.PingStatus().Status; s != supervisor.Healthy {
				t.Fatalf("status %s, want Healthy", s)
			}
		})
	}
}

func TestPanicStackIsLogged(t *testing.T) {
	sup, logs := mustNew(t, supervisor.Config{})
	id, _ := sup.Go("panicky", nil, func(context.Context) error { panic("kaboom") })
	waitIdle(t, sup)
	failed := logs.find(t, "task attempt failed; not restarting", id)
	if len(failed) != 1 {
		t.Fatalf("failure lines %v, want one", failed)
	}
	if stack, _ := failed[0]["stack"].(string); !strings.Contains(stack, "TestPanicStackIsLogged") {
		t.Fatalf("stack %q does not name the panicking function", stack)
	}
}

func TestRestartBackoffThenBudgetSpent(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		start := time.Now()
		var attempts []time.Duration // when each attempt ran; written by one attempt at a time
		policy := supervisor.RestartPolicy{MaxRestarts: 3, InitialBackoff: time.Second, MaxBackoff: 3 * time.Second}
		id, err := sup.Go("flaky", nil, func(context.Context) error {
			attempts = append(attempts, time.Since(start))
			return errors.New("flake")
		}, supervisor.WithRestart(policy))
		if err != nil {
			t.Fatal(err)
		}
		waitIdle(t, sup)
		// Backoffs 1s, 2s, then 4s capped to 3s; the fourth failure spends the budget.
		want := []time.Duration{0, time.Second, 3 * time.Second, 6 * time.Second}
		if len(attempts) != len(want) {
			t.Fatalf("attempts at %v, want at %v", attempts, want)
		}
		for i := range want {
			if attempts[i] != want[i] {
				t.Fatalf("attempts at %v, want at %v", attempts, want)
			}
		}
		if n := len(logs.find(t, "task restarting", id)); n != 3 {
			t.Errorf("%d restart lines, want 3", n)
		}
		over := logs.find(t, "task over", id)
		if len(over) != 1 || over[0]["outcome"] != "failed" || over[0]["restarts"] != float64(3) {
			t.Fatalf("task over lines %v, want one failed after 3 restarts", over)
		}
	})
}

func TestRestartThenSuccess(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		var runs atomic.Int32
		id, _ := sup.Go("flaky", nil, func(context.Context) error {
			if runs.Add(1) < 3 {
				panic("not yet")
			}
			return nil
		}, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 5, InitialBackoff: time.Second}))
		// While backing off the task still counts as busy and the tree says so.
		synctest.Wait()
		if node := taskNode(t, sup, id); node == nil || node.State != supervisor.StateBackingOff || node.LastError != "panic: not yet" {
			t.Fatalf("node %+v, want backing off after a panic", node)
		}
		if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
			t.Fatalf("backing off: %s, want HealthyBusy", s)
		}
		waitIdle(t, sup)
		over := logs.find(t, "task over", id)
		if runs.Load() != 3 || len(over) != 1 || over[0]["outcome"] != "succeeded" || over[0]["restarts"] != float64(2) {
			t.Fatalf("%d runs, task over %v; want 3 runs, succeeded after 2 restarts", runs.Load(), over)
		}
	})
}

// Failures older than the window are forgotten: a task that fails once every
// 10s never spends a budget of 1 restart per 5s.
func TestRestartWindowForgetsOldFailures(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		var runs atomic.Int32
		policy := supervisor.RestartPolicy{MaxRestarts: 1, Window: 5 * time.Second, InitialBackoff: 10 * time.Second, MaxBackoff: 10 * time.Second}
		id, _ := sup.Go("slow flake", nil, func(context.Context) error {
			if runs.Add(1) < 5 {
				return errors.New("flake")
			}
			return nil
		}, supervisor.WithRestart(policy))
		waitIdleWithin(t, sup, time.Hour)
		over := logs.find(t, "task over", id)
		if runs.Load() != 5 || len(over) != 1 || over[0]["outcome"] != "succeeded" {
			t.Fatalf("%d runs, task over %v; want 5 runs then success", runs.Load(), over)
		}
	})
}

func TestTimeoutRestarts(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		var runs atomic.Int32
		id, _ := sup.Go("slow", nil, func(ctx context.Context) error {
			if runs.Add(1) == 1 {
				<-ctx.Done()
				return ctx.Err()
			}
			return nil
		}, supervisor.WithTimeout(time.Minute), supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1}))
		waitIdleWithin(t, sup, time.Hour)
		failed := logs.find(t, "task attempt failed; restarting after backoff", id)
		if runs.Load() != 2 || len(failed) != 1 || !strings.Contains(failed[0]["error"].(string), "timed out after 1m0s") {
			t.Fatalf("%d runs, failures %v; want a timeout then a second run", runs.Load(), failed)
		}
	})
}

func TestCancel(t *testing.T) {
	sup, logs := mustNew(t, supervisor.Config{})
	cause, started := make(chan error, 1), make(chan struct{})
	id, _ := sup.Go("long", nil, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return ctx.Err()
	})
	<-started
	if !sup.Cancel(id) {
		t.Fatal("Cancel of a running task answered false")
	}
	if sup.Cancel(id) {
		t.Fatal("Cancel twice answered true")
	}
	if err := <-cause; !errors.Is(err, supervisor.ErrCancelled) {
		t.Fatalf("context cause %v, want ErrCancelled", err)
	}
	waitIdle(t, sup)
	if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "cancelled" {
		t.Fatalf("task over lines %v, want one cancelled", over)
	}
	if sup.Cancel(id) || sup.Cancel(12345678) {
		t.Fatal("Cancel of a finished or unknown task answered true")
	}
	manual := sup.AddAsyncTask("manual", nil)
	if !sup.Cancel(manual) || sup.PingStatus().Status != supervisor.Healthy {
		t.Fatal("cancelling a manual task did not end it at once")
	}
}

func TestCancelWhileBackingOff(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		var runs atomic.Int32
		id, _ := sup.Go("flaky", nil, func(context.Context) error { runs.Add(1); return errors.New("flake") },
			supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 5, InitialBackoff: time.Hour}))
		synctest.Wait()
		if !sup.Cancel(id) {
			t.Fatal("Cancel while backing off answered false")
		}
		if s := sup.PingStatus().Status; s != supervisor.Healthy {
			t.Fatalf("after Cancel while backing off: %s, want Healthy at once", s)
		}
		synctest.Wait()
		if over := logs.find(t, "task over", id); runs.Load() != 1 || len(over) != 1 || over[0]["outcome"] != "cancelled" {
			t.Fatalf("%d runs, task over %v; want one run, cancelled", runs.Load(), over)
		}
	})
}

// A function that ignores cancellation is abandoned after the grace: it no
// longer counts as busy, the tree shows it, and its goroutine runs on.
func TestIgnoredCancellationIsAbandoned(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{CancelGrace: 3 * time.Second})
		release := make(chan struct{})
		id, _ := sup.Go("stubborn", nil, func(ctx context.Context) error { <-release; return nil })
		synctest.Wait() // the function runs
		sup.Cancel(id)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if node := taskNode(t, sup, id); node == nil || node.State != supervisor.StateCancelling {
			t.Fatalf("within the grace: node %+v, want cancelling", node)
		}
		if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
			t.Fatalf("within the grace: %s, want HealthyBusy", s)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := sup.PingStatus().Status; s != supervisor.Healthy {
			t.Fatalf("past the grace: %s, want Healthy", s)
		}
		if node := taskNode(t, sup, id); node == nil || node.State != supervisor.StateAbandoned {
			t.Fatalf("past the grace: node %+v, want abandoned", node)
		}
		close(release)
		synctest.Wait()
		if node := taskNode(t, sup, id); node != nil {
			t.Fatalf("after the function returned: node %+v, want gone", node)
		}
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "abandoned" {
			t.Fatalf("task over lines %v, want one abandoned", over)
		}
	})
}

func TestTimeoutIgnoredIsAbandoned(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{CancelGrace: time.Second})
		release := make(chan struct{})
		id, _ := sup.Go("stubborn", nil, func(ctx context.Context) error { <-release; return nil },
			supervisor.WithTimeout(time.Minute), supervisor.WithCancelGrace(10*time.Second))
		time.Sleep(time.Minute + 9*time.Second)
		synctest.Wait()
		if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
			t.Fatalf("within the task's own grace: %s, want HealthyBusy", s)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := sup.PingStatus().Status; s != supervisor.Healthy {
			t.Fatalf("past the grace: %s, want Healthy", s)
		}
		close(release)
		synctest.Wait()
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "abandoned" {
			t.Fatalf("task over lines %v, want one abandoned", over)
		}
	})
}

func TestTreeShowsTasks(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		release := make(chan struct{})
		started := time.Now()
		id, _ := sup.Go("report", map[string]any{"day": "mon"}, func(ctx context.Context) error { <-release; return nil },
			supervisor.WithTimeout(time.Hour))
		manual := sup.AddAsyncTask("upload", nil)
		tree, err := sup.Tree(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tree.Kind != supervisor.KindSystem || len(tree.Children) != 2 {
			t.Fatalf("root %+v, want the system with two children", tree)
		}
		status, tasks := tree.Children[0], tree.Children[1]
		if status.Kind != supervisor.KindStatus || status.Status.Status != supervisor.HealthyBusy || status.Status.ActiveCount != 2 {
			t.Fatalf("status node %+v", status)
		}
		if tasks.Kind != supervisor.KindTaskSupervisor || len(tasks.Children) != 2 {
			t.Fatalf("task supervisor node %+v, want two tasks", tasks)
		}
		fn, man := tasks.Children[0].Task, tasks.Children[1].Task
		if fn.ID != id || fn.Name != "report" || fn.Metadata["day"] != "mon" || fn.Manual ||
			!fn.Started.Equal(started) || !fn.Deadline.Equal(started.Add(time.Hour)) {
			t.Fatalf("function task node %+v", fn)
		}
		if man.ID != manual || !man.Manual || !man.Deadline.IsZero() {
			t.Fatalf("manual task node %+v", man)
		}
		close(release)
		sup.CompleteAsyncTask(manual)
	})
}

// A task cancelled right after Go, perhaps before its actor ran the function,
// ends cancelled exactly once.
func TestCancelRightAfterGo(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		id, _ := sup.Go("quick", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
		if !sup.Cancel(id) {
			t.Fatal("Cancel answered false")
		}
		synctest.Wait()
		over := logs.find(t, "task over", id)
		if len(over) != 1 || over[0]["outcome"] != "cancelled" {
			t.Fatalf("task over %v, want cancelled", over)
		}
	})
}
