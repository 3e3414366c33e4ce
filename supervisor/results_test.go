package supervisor_test

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// Every way a task ends leaves exactly one kept outcome, with the right
// state and error, and /ping Healthy.
func TestEveryEndLeavesOneOutcome(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{CancelGrace: time.Second})
		deaf := make(chan struct{})
		t.Cleanup(func() { close(deaf) }) // before the shutdown: the abandoned function returns
		boom := errors.New("boom")
		var runs int
		tasks := []struct {
			name    string
			start   func() supervisor.TaskID
			outcome supervisor.Outcome
			err     error // matched with errors.Is; nil: not checked
		}{
			{"success", func() supervisor.TaskID {
				id, _ := supervisor.GoResult(sup, "success", nil, func(context.Context) (int, error) { return 42, nil })
				return id
			}, supervisor.OutcomeSucceeded, nil},
			{"error", func() supervisor.TaskID {
				id, _ := sup.Go("error", nil, func(context.Context) error { return boom })
				return id
			}, supervisor.OutcomeFailed, boom},
			{"panic", func() supervisor.TaskID {
				id, _ := sup.Go("panic", nil, func(context.Context) error { panic("kaboom") })
				return id
			}, supervisor.OutcomeFailed, supervisor.ErrPanicked},
			{"goexit", func() supervisor.TaskID {
				id, _ := sup.Go("goexit", nil, func(context.Context) error { runtime.Goexit(); return nil })
				return id
			}, supervisor.OutcomeFailed, nil},
			{"timeout", func() supervisor.TaskID {
				id, _ := sup.Go("timeout", nil, func(ctx context.Context) error { <-ctx.Done(); return nil }, supervisor.WithTimeout(time.Second))
				return id
			}, supervisor.OutcomeTimedOut, supervisor.ErrTimeout},
			{"cancel", func() supervisor.TaskID {
				id, _ := sup.Go("cancel", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
				synctest.Wait()
				sup.Cancel(id)
				return id
			}, supervisor.OutcomeCancelled, supervisor.ErrCancelled},
			{"abandon", func() supervisor.TaskID {
				id, _ := sup.Go("abandon", nil, func(ctx context.Context) error { <-deaf; return nil })
				synctest.Wait()
				sup.Cancel(id)
				return id
			}, supervisor.OutcomeAbandoned, supervisor.ErrCancelled},
			{"restart then success", func() supervisor.TaskID {
				id, _ := sup.Go("flaky", nil, func(context.Context) error {
					if runs++; runs == 1 {
						return boom
					}
					return nil
				}, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 1, InitialBackoff: time.Second}))
				return id
			}, supervisor.OutcomeSucceeded, nil},
			{"completed by hand", func() supervisor.TaskID {
				id := sup.AddAsyncTask("manual", nil)
				sup.CompleteAsyncTask(id)
				return id
			}, supervisor.OutcomeCompleted, nil},
		}
		ids := make([]supervisor.TaskID, len(tasks))
		for i, tc := range tasks {
			ids[i] = tc.start()
		}
		time.Sleep(time.Minute) // the abandoned one's grace, the backoff, the timeout
		synctest.Wait()
		for i, tc := range tasks {
			got, ok := sup.Task(ids[i])
			if !ok {
				t.Errorf("%s: no outcome kept", tc.name)
				continue
			}
			if got.Outcome != tc.outcome || got.State != supervisor.StateOver || got.Busy || got.Ended.IsZero() {
				t.Errorf("%s: %s in state %s (busy %v, ended %v), want %s and over", tc.name, got.Outcome, got.State, got.Busy, got.Ended, tc.outcome)
			}
			if tc.err != nil && !errors.Is(got.Err, tc.err) {
				t.Errorf("%s: error %v, want %v", tc.name, got.Err, tc.err)
			}
			if ok := tc.outcome == supervisor.OutcomeSucceeded || tc.outcome == supervisor.OutcomeCompleted; ok && got.Err != nil {
				t.Errorf("%s: error %v, want none", tc.name, got.Err)
			}
		}
		if got, _ := sup.Task(ids[0]); got.Result != 42 || got.Attempts != 1 {
			t.Errorf("success: result %v after %d attempts, want 42 after 1", got.Result, got.Attempts)
		}
		if got, _ := sup.Task(ids[7]); got.Attempts != 2 || got.Err != nil {
			t.Errorf("restart then success: %d attempts, error %v; want 2 and none", got.Attempts, got.Err)
		}
		if p := sup.PingStatus(); p.Status != supervisor.Healthy {
			t.Fatalf("after every end: %s, want Healthy", p.Status)
		}
		results, err := sup.Results(context.Background())
		if err != nil || len(results) != len(tasks) {
			t.Fatalf("Results: %d outcomes, %v; want %d", len(results), err, len(tasks))
		}
	})
}

// A live task reports its state, metadata, progress and that it is busy;
// its result outlives its actor.
func TestTaskLiveThenKept(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		release := make(chan struct{})
		type summary struct{ Words int }
		id, _ := supervisor.GoResult(sup, "summarize", map[string]any{"doc": "a.txt"}, func(ctx context.Context) (summary, error) {
			supervisor.Progress(ctx, 0.5, "half")
			<-release
			return summary{Words: 7}, nil
		})
		synctest.Wait()
		live, ok := sup.Task(id)
		if !ok || live.State != supervisor.StateRunning || !live.Busy || live.Outcome != 0 || live.Metadata["doc"] != "a.txt" ||
			live.Progress == nil || live.Progress.Note != "half" || live.Result != nil {
			t.Fatalf("live task %+v, want running, busy, with its metadata and progress", live)
		}
		if info := sup.AsyncTaskInfo(); len(info.RunningJobs) != 1 || info.RunningJobs[0].Metadata["doc"] != "a.txt" {
			t.Fatalf("AsyncTaskInfo %+v, want the job with its metadata", info)
		}
		close(release)
		waitIdle(t, sup)
		synctest.Wait()
		if node := taskNode(t, sup, id); node != nil {
			t.Fatalf("the task's actor is still in the tree: %+v", node)
		}
		kept, ok := sup.Task(id)
		if !ok || kept.Result != (summary{Words: 7}) || kept.Outcome != supervisor.OutcomeSucceeded {
			t.Fatalf("kept %+v, want the result summary{7}", kept)
		}
		if _, ok := sup.Task(id + 1000); ok {
			t.Fatal("an unknown id was found")
		}
	})
}

// Outcomes expire at the retention and beyond the cap, oldest first.
func TestOutcomesExpire(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{ResultRetention: time.Hour, MaxResults: 3})
		var ids []supervisor.TaskID
		for range 5 {
			id := sup.AddAsyncTask("manual", nil)
			sup.CompleteAsyncTask(id)
			ids = append(ids, id)
			time.Sleep(time.Minute)
		}
		for i, id := range ids {
			if _, ok := sup.Task(id); ok != (i >= 2) {
				t.Errorf("task %d of 5: kept %v, want only the newest 3", i+1, ok)
			}
		}
		time.Sleep(time.Hour - 3*time.Minute) // the third ended 3 minutes after the first
		if _, ok := sup.Task(ids[2]); ok {
			t.Error("an outcome older than the retention is still kept")
		}
		if _, ok := sup.Task(ids[4]); !ok {
			t.Error("an outcome within the retention expired")
		}
	})
}

// With MaxResults negative nothing is kept; with many tasks the count kept
// stays at the cap.
func TestOutcomesBounded(t *testing.T) {
	none, _ := mustNew(t, supervisor.Config{MaxResults: -1})
	id := none.AddAsyncTask("manual", nil)
	none.CompleteAsyncTask(id)
	if _, ok := none.Task(id); ok {
		t.Fatal("MaxResults -1 kept an outcome")
	}
	sup, _ := mustNew(t, supervisor.Config{MaxResults: 100})
	for range 2000 {
		sup.CompleteAsyncTask(sup.AddAsyncTask("manual", nil))
	}
	results, err := sup.Results(context.Background())
	if err != nil || len(results) != 100 {
		t.Fatalf("%d outcomes kept (%v), want the cap, 100", len(results), err)
	}
	for i := 1; i < len(results); i++ {
		if results[i].ID >= results[i-1].ID {
			t.Fatalf("results not newest first: %d before %d", results[i-1].ID, results[i].ID)
		}
	}
}

// A Task encodes to JSON with its error as a message.
func TestTaskJSON(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		id, _ := sup.Go("fails", map[string]any{"k": 1}, func(context.Context) error { return errors.New("disk full") })
		waitIdle(t, sup)
		task, _ := sup.Task(id)
		b, err := json.Marshal(task)
		if err != nil {
			t.Fatal(err)
		}
		want := `{"task_id":` + id.String() + `,"name":"fails","metadata":{"k":1},"state":"over","outcome":"failed","busy":false,` +
			`"started":"2000-01-01T00:00:00Z","ended":"2000-01-01T00:00:00Z","attempts":1,"error":"disk full"}`
		if string(b) != want {
			t.Fatalf("JSON\n%s\nwant\n%s", b, want)
		}
	})
}
