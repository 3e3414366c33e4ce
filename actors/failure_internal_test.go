package actors

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// A panic in a task actor's own Receive (a bug, not the task's function)
// ends the task failed: untracked, its actor stopped, its outcome kept.
func TestTaskActorPanicEndsTheTask(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	cast, err := Spawn(system, Options{Results: ResultOptions{Retention: time.Hour, Max: 10}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cast.Stop()
		system.Shutdown()
	}()
	started := NewRequest[TaskStart]()
	system.Root.Send(cast.TasksPID, &StartTask{Spec: &TaskSpec{Name: "manual"}, Reply: started})
	id := (<-started.Answered()).ID
	// A grace timer's message naming no attempt: live(nil) reads a nil
	// attempt of a hand-tracked task and panics.
	system.Root.Send(actor.NewPID(system.Address(), "tasks/"+taskActorName(id)), &graceExpired{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := make(chan TaskLookup, 1)
		system.Root.Send(cast.TasksPID, &GetTask{ID: id, Reply: r})
		if got := <-r; got.Found && got.Report.Outcome == OutcomeFailed {
			info := make(chan TaskInfo, 1) // behind the untracking in the status actor's mailbox
			system.Root.Send(cast.StatusPID, &GetTaskInfo{Reply: info})
			<-info
			if got.Report.Err == nil || cast.Status.Snapshot().Status != Healthy {
				t.Fatalf("outcome %+v, status %s: want an error and Healthy", got.Report, cast.Status.Snapshot().Status)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the task whose actor panicked did not end failed")
		}
		time.Sleep(5 * time.Millisecond) // a poll interval
	}
}
