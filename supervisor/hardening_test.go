package supervisor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// receiverError is an error whose Error method reads its receiver: returned
// as a typed nil pointer it is a non-nil error whose Error panics.
type receiverError struct{ msg string }

func (e *receiverError) Error() string { return e.msg }

// A task function that returns a typed nil error fails like any other, with
// a message naming the type, at every log level; it never crashes the
// process or leaves the task busy.
func TestTypedNilErrorFailsTheTask(t *testing.T) {
	for _, level := range []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel} {
		t.Run(level.String(), func(t *testing.T) {
			logs := &logBuffer{}
			sup, err := supervisor.New(supervisor.Config{Logger: zerolog.New(logs).Level(level)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { testkit.ShutdownNow(sup) })
			id, err := sup.Go("typed-nil", nil, func(context.Context) error {
				var e *receiverError
				return e
			})
			if err != nil {
				t.Fatal(err)
			}
			waitIdle(t, sup)
			over := logs.find(t, "task over", id)
			if len(over) != 1 || over[0]["outcome"] != "failed" {
				t.Fatalf("task over %v, want one failed", over)
			}
			failed := logs.find(t, "task attempt failed; not restarting", id)
			if len(failed) != 1 || !strings.Contains(failed[0]["error"].(string), "*supervisor_test.receiverError") {
				t.Fatalf("failure log %v, want the error's type named", failed)
			}
		})
	}
}

// A custom ping function that returns a typed nil error falls back to the
// automatic status.
func TestTypedNilErrorFromPingFunc(t *testing.T) {
	sup, logs := mustNew(t, supervisor.Config{})
	sup.SetPingFunc(func(context.Context) (supervisor.Status, error) {
		var e *receiverError
		return supervisor.HealthyBusy, e
	})
	if p := sup.PingStatus(); p.Status != supervisor.Healthy {
		t.Fatalf("status %s, want the automatic Healthy", p.Status)
	}
	if len(logs.find(t, "custom ping function failed; using the automatic status", 0)) == 0 {
		t.Fatal("the failing ping function was not logged")
	}
}

// An attempt abandoned after its timeout is the task's end: when its
// function finally returns an error, no restart policy runs it again.
func TestAbandonedAttemptIsNotRestarted(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{Limits: supervisor.Limits{MaxTasks: 1}})
		var runs atomic.Int32
		id, _ := sup.Go("deaf", nil, func(ctx context.Context) error {
			runs.Add(1)
			time.Sleep(10 * time.Second) // ignores its context
			return errors.New("late failure")
		}, supervisor.WithTimeout(time.Second), supervisor.WithCancelGrace(time.Second),
			supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 5, InitialBackoff: time.Millisecond}))
		time.Sleep(3 * time.Second) // timed out at 1s, abandoned at 2s
		synctest.Wait()
		if p := sup.PingStatus(); p.Status != supervisor.Healthy {
			t.Fatalf("after abandonment: %s, want Healthy", p.Status)
		}
		time.Sleep(10 * time.Second) // the function has returned its error
		synctest.Wait()
		if n := runs.Load(); n != 1 {
			t.Fatalf("the abandoned task ran %d times, want once", n)
		}
		if p := sup.PingStatus(); p.Status != supervisor.Healthy {
			t.Fatalf("after the abandoned function returned: %s, want Healthy", p.Status)
		}
		if node := taskNode(t, sup, id); node != nil {
			t.Fatalf("the abandoned task is still in the tree once its function returned: %+v", node)
		}
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "abandoned" {
			t.Fatalf("task over %v, want one abandoned", over)
		}
		if _, err := sup.Go("next", nil, func(context.Context) error { return nil }); err != nil {
			t.Fatalf("the limit still counts the abandoned task: %v", err)
		}
	})
}

// An attempt cut by its timeout or heartbeat fails with ErrTimeout or
// ErrHeartbeatMissed even when its function returns nil, as functions that
// honour their context do; its restart policy decides.
func TestCutAttemptReturningNilFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opt     supervisor.TaskOption
		want    string
		outcome string
	}{
		{"timeout", supervisor.WithTimeout(time.Second), "task timed out after 1s", "timed_out"},
		{"heartbeat", supervisor.WithHeartbeat(time.Second), "task missed its heartbeat (none for 1s)", "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T) {
				sup, logs := mustNew(t, supervisor.Config{})
				var runs atomic.Int32
				id, _ := sup.Go("polite", nil, func(ctx context.Context) error {
					runs.Add(1)
					<-ctx.Done()
					return nil
				}, tc.opt, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1, InitialBackoff: time.Second}))
				waitIdleWithin(t, sup, time.Minute)
				if n := runs.Load(); n != 2 {
					t.Fatalf("%d runs, want 2 (a restart)", n)
				}
				over := logs.find(t, "task over", id)
				if len(over) != 1 || over[0]["outcome"] != tc.outcome {
					t.Fatalf("task over %v, want one %s", over, tc.outcome)
				}
				failed := logs.find(t, "task attempt failed; not restarting", id)
				if len(failed) != 1 || !strings.Contains(failed[0]["error"].(string), tc.want) {
					t.Fatalf("last failure %v, want %q", failed, tc.want)
				}
			})
		})
	}
}

// A caller told that a call failed (the actor did not answer within
// RequestTimeout) never sees its effect happen later: every task that
// became tracked was reported to its caller.
func TestTimedOutCallsHaveNoEffect(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{RequestTimeout: time.Microsecond})
	var (
		mu      sync.Mutex
		tracked []supervisor.TaskID
		wg      sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if id := sup.AddAsyncTask("flood", nil); id != 0 {
					mu.Lock()
					tracked = append(tracked, id)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d of 1600 calls tracked a task", len(tracked))
	if len(tracked) == 1600 {
		t.Fatal("no call timed out: the test exercised nothing")
	}
	if n := settledActiveCount(t, sup); n != len(tracked) {
		t.Fatalf("%d tasks tracked, but callers were given %d ids", n, len(tracked))
	}
}

// settledActiveCount returns the status actor's count of tracked tasks once
// every message sent before the call has been handled. Tree asks the status
// actor, then the task supervisor, in turn (mailboxes are FIFO, and Tree
// waits on its context, not RequestTimeout): the first call flushes the task
// supervisor and so every message it sends on, the second the status actor.
func settledActiveCount(tb testing.TB, sup *supervisor.Supervisor) int {
	tb.Helper()
	var tree supervisor.Node
	for range 2 {
		var err error
		if tree, err = sup.Tree(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	return tree.Children[0].Status.ActiveCount
}

// After SetPingFunc the new function decides the status: a call of the old
// one still in flight neither delays it nor publishes its answer as the
// new function's.
func TestSetPingFuncDropsTheOldCall(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{PingFuncTimeout: time.Hour})
		start := sup.PingStatus()
		release := make(chan struct{})
		var once sync.Once
		releaseOld := func() { once.Do(func() { close(release) }) }
		t.Cleanup(releaseOld) // also when the test fails
		sup.SetPingFunc(func(context.Context) (supervisor.Status, error) {
			<-release
			return supervisor.HealthyBusy, nil
		})
		oldDone := make(chan supervisor.Ping, 1)
		go func() { oldDone <- sup.PingStatus() }() // waits on the old function
		synctest.Wait()
		sup.SetPingFunc(func(context.Context) (supervisor.Status, error) { return supervisor.Healthy, nil })
		newDone := make(chan supervisor.Ping, 1)
		go func() { newDone <- sup.PingStatus() }()
		synctest.Wait()
		select {
		case p := <-newDone:
			if p.Status != supervisor.Healthy || !p.Since.Equal(start.Since) {
				t.Fatalf("new function's ping %+v, want Healthy since %v", p, start.Since)
			}
		default:
			t.Fatal("a ping after SetPingFunc waits on the old function's call")
		}
		time.Sleep(time.Minute)
		releaseOld()
		<-oldDone
		synctest.Wait()
		if p := sup.PingStatus(); p.Status != supervisor.Healthy || !p.Since.Equal(start.Since) {
			t.Fatalf("after the old call returned: %+v, want Healthy since %v (no flip)", p, start.Since)
		}
	})
}

// At info level every task still logs its one "task over" line, as the
// docs promise: operators see each task end.
func TestTaskOverAtInfoLevel(t *testing.T) {
	logs := &logBuffer{}
	sup, err := supervisor.New(supervisor.Config{Logger: zerolog.New(logs).Level(zerolog.InfoLevel)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testkit.ShutdownNow(sup) })
	ok, _ := sup.Go("ok", nil, func(context.Context) error { return nil })
	manual := sup.AddAsyncTask("manual", nil)
	sup.CompleteAsyncTask(manual)
	waitIdle(t, sup)
	for id, want := range map[supervisor.TaskID]string{ok: "succeeded", manual: "completed"} {
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != want || over[0]["level"] != "info" {
			t.Errorf("task %d: task over %v, want one %s line at info", id, over, want)
		}
	}
}

// A task abandoned after its timeout says so: its error is ErrTimeout, not
// an empty cancellation (the task itself was never cancelled).
func TestAbandonedAfterTimeoutSaysWhy(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		id, _ := sup.Go("deaf", nil, func(context.Context) error { <-release; return nil },
			supervisor.WithTimeout(time.Second), supervisor.WithCancelGrace(time.Second))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		task, ok := sup.Task(id)
		if !ok || task.Outcome != supervisor.OutcomeAbandoned || !errors.Is(task.Err, supervisor.ErrTimeout) ||
			strings.Contains(task.Err.Error(), "%!") {
			t.Fatalf("abandoned after its timeout: %+v (error %v), want abandoned with ErrTimeout", task, task.Err)
		}
	})
}

// Once Task reports a task over, /ping no longer counts it.
func TestTaskOverMeansNotBusy(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	for range 300 {
		id, _ := sup.Go("quick", nil, func(context.Context) error { return nil })
		testkit.Eventually(t, "the task to end", func() bool {
			task, _ := sup.Task(id)
			return task.Outcome != 0
		})
		if p := sup.PingStatus(); p.Status != supervisor.Healthy {
			t.Fatalf("Task says task %d is over, but /ping says %s", id, p.Status)
		}
	}
}

// Concurrent SetPingFunc calls leave the function stored and the one the
// status actor knows the same: the custom function keeps deciding.
func TestConcurrentSetPingFunc(t *testing.T) {
	busy := func(context.Context) (supervisor.Status, error) { return supervisor.HealthyBusy, nil }
	for range 50 {
		sup, _ := mustNew(t, supervisor.Config{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { _ = sup.SetPingFunc(busy) })
		}
		wg.Wait()
		if p := sup.PingStatus(); p.Status != supervisor.HealthyBusy {
			t.Fatalf("after two concurrent SetPingFunc: %s, want the function's HealthyBusy", p.Status)
		}
		testkit.ShutdownNow(sup)
	}
}

// Shutdown gives a cancelled task its own WithCancelGrace, longer than
// Config.CancelGrace, before it is abandoned.
func TestShutdownHonoursALongerTaskGrace(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{CancelGrace: time.Second})
		id, _ := sup.Go("slow to stop", nil, func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(5 * time.Second) // within its own grace of 10 s
			return ctx.Err()
		}, supervisor.WithCancelGrace(10*time.Second))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = sup.Shutdown(ctx)
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "cancelled" {
			t.Fatalf("task over %v, want cancelled within its grace", over)
		}
		if lines := logs.find(t, "tasks still tracked after the cancel grace", 0); len(lines) != 0 {
			t.Fatalf("Shutdown gave up before the task's own grace: %v", lines)
		}
	})
}
