package supervisor_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

func TestProgressShowsInTree(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		step := make(chan struct{})
		id, _ := sup.Go("etl", nil, func(ctx context.Context) error {
			for i, note := range []string{"extract", "transform"} {
				if err := supervisor.Progress(ctx, float64(i+1)/4, note); err != nil {
					return err
				}
				<-step
			}
			return nil
		})
		synctest.Wait()
		if p := taskNode(t, sup, id).Progress; p == nil || p.Fraction != 0.25 || p.Note != "extract" || !p.At.Equal(time.Now()) {
			t.Fatalf("progress %+v, want 25%% extract, now", p)
		}
		step <- struct{}{}
		synctest.Wait()
		if p := taskNode(t, sup, id).Progress; p == nil || p.Fraction != 0.5 || p.Note != "transform" {
			t.Fatalf("progress %+v, want 50%% transform", p)
		}
		close(step)
	})
}

func TestProgressRejectsBadInput(t *testing.T) {
	if err := supervisor.Progress(context.Background(), 0.5, ""); !errors.Is(err, supervisor.ErrNotATask) {
		t.Fatalf("outside a task: %v, want ErrNotATask", err)
	}
	sup, _ := mustNew(t, supervisor.Config{})
	errs := make(chan error, 3)
	sup.Go("bad", nil, func(ctx context.Context) error {
		for _, f := range []float64{-0.1, 1.5, math.NaN()} {
			errs <- supervisor.Progress(ctx, f, "")
		}
		return nil
	})
	for range 3 {
		if err := <-errs; !errors.Is(err, supervisor.ErrInvalidOption) {
			t.Fatalf("bad fraction: %v, want ErrInvalidOption", err)
		}
	}
}

// A task that stops beating is stuck: cancelled, shown as stuck, failed
// with ErrHeartbeatMissed, and restarted if its policy says so.
func TestHeartbeatMissed(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{CancelGrace: 10 * time.Second})
		var runs atomic.Int32
		id, _ := sup.Go("beating", nil, func(ctx context.Context) error {
			if runs.Add(1) > 1 {
				return nil // the restarted attempt succeeds
			}
			for range 3 { // beats for 3s, then hangs until cancelled
				supervisor.Progress(ctx, 0, "working")
				time.Sleep(time.Second)
			}
			<-ctx.Done()
			time.Sleep(5 * time.Second) // slow to return: the tree shows it stuck
			return ctx.Err()
		}, supervisor.WithHeartbeat(2*time.Second), supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1, InitialBackoff: time.Second}))
		time.Sleep(3 * time.Second) // last beat at 2s
		synctest.Wait()
		if node := taskNode(t, sup, id); node == nil || node.State != supervisor.StateRunning {
			t.Fatalf("beating within its timeout: %+v, want running", node)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if node := taskNode(t, sup, id); node == nil || node.State != supervisor.StateStuck {
			t.Fatalf("2s after its last beat: %+v, want stuck", node)
		}
		waitIdleWithin(t, sup, time.Minute)
		failed := logs.find(t, "task attempt failed; restarting after backoff", id)
		if len(failed) != 1 || !strings.Contains(failed[0]["error"].(string), "task missed its heartbeat (none for 2s)") {
			t.Fatalf("failures %v, want one missed heartbeat", failed)
		}
		if len(logs.find(t, "task missed its heartbeat; cancelling the attempt", id)) != 1 {
			t.Fatal("the stuck task was not logged")
		}
		if over := logs.find(t, "task over", id); runs.Load() != 2 || len(over) != 1 || over[0]["outcome"] != "succeeded" {
			t.Fatalf("%d runs, task over %v; want a restart then success", runs.Load(), over)
		}
	})
}

// Without a restart policy a stuck task ends failed.
func TestHeartbeatMissedNoRestart(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{})
		id, _ := sup.Go("silent", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			supervisor.WithHeartbeat(time.Second))
		waitIdleWithin(t, sup, time.Minute)
		if over := logs.find(t, "task over", id); len(over) != 1 || over[0]["outcome"] != "failed" {
			t.Fatalf("task over %v, want failed", over)
		}
	})
}

func TestLimits(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{Limits: supervisor.Limits{MaxTasks: 3, MaxPerName: map[string]int{"export": 1}}})
	block := func(ctx context.Context) error { <-ctx.Done(); return nil }
	first, err := sup.Go("export", nil, block)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sup.Go("export", nil, block); !errors.Is(err, supervisor.ErrTooManyTasks) {
		t.Fatalf("second export: %v, want ErrTooManyTasks", err)
	}
	if _, err := sup.Go("import", nil, block); err != nil {
		t.Fatalf("another name within the global limit: %v", err)
	}
	if id := sup.AddAsyncTask("manual", nil); id == 0 {
		t.Fatal("a hand-tracked task within the global limit was refused")
	}
	if _, err := sup.Go("import", nil, block); !errors.Is(err, supervisor.ErrTooManyTasks) {
		t.Fatalf("fourth task: %v, want ErrTooManyTasks", err)
	}
	if id := sup.AddAsyncTask("manual", nil); id != 0 {
		t.Fatal("a hand-tracked task beyond the global limit was tracked")
	}
	tree, err := sup.Tree(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	limits := tree.Children[1].Limits
	if limits == nil || limits.MaxTasks != 3 || limits.Active != 3 || limits.ActivePerName["export"] != 1 {
		t.Fatalf("tree limits %+v, want 3 of 3 active, 1 export", limits)
	}
	sup.Cancel(first)
	testkit.Eventually(t, "the export slot to free up", func() bool {
		_, err := sup.Go("export", nil, block)
		return err == nil
	})
}

func TestConfigRejectsBadLimits(t *testing.T) {
	for _, limits := range []supervisor.Limits{{MaxTasks: -1}, {MaxPerName: map[string]int{"x": 0}}} {
		if _, err := supervisor.New(supervisor.Config{Limits: limits}); !errors.Is(err, supervisor.ErrInvalidOption) {
			t.Errorf("limits %+v: %v, want ErrInvalidOption", limits, err)
		}
	}
}

func TestPanicsAreCounted(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	sup.Go("p", nil, func(context.Context) error { panic("task") })
	sup.Go("e", nil, func(context.Context) error { return errors.New("not a panic") })
	waitIdle(t, sup)
	sup.SetPingFunc(func(context.Context) (supervisor.Status, error) { panic("ping") })
	sup.PingStatus()
	sup.RecordPanic(supervisor.PanicHandler)
	sup.RecordPanic(supervisor.PanicHandler)
	got := sup.Panics()
	want := map[string]uint64{supervisor.PanicTask: 1, supervisor.PanicPingFunc: 1, supervisor.PanicHandler: 2}
	if len(got) != len(want) {
		t.Fatalf("panics %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("panics %v, want %v", got, want)
		}
	}
	if tree, _ := sup.Tree(context.Background()); tree.Panics[supervisor.PanicHandler] != 2 {
		t.Fatalf("tree panics %v", tree.Panics)
	}
}
