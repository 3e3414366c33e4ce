package actors_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/actors"
	"github.com/agentvisor/agentvisor/internal/logbuf"
)

func track(tb testing.TB, cast *actors.Cast, id actors.TaskID) {
	tb.Helper()
	r := actors.NewRequest[actors.TaskStart]()
	ask(tb, cast, cast.StatusPID, &actors.TrackTask{Entry: actors.TaskEntry{ID: id, Name: "t", Started: time.Now()}, Reply: r}, r.Answered())
}

func untrack(tb testing.TB, cast *actors.Cast, id actors.TaskID) bool {
	tb.Helper()
	r := actors.NewRequest[bool]()
	return ask(tb, cast, cast.StatusPID, &actors.UntrackTask{ID: id, Reply: r}, r.Answered())
}

func force(tb testing.TB, cast *actors.Cast, s actors.Status) actors.Ping {
	tb.Helper()
	r := actors.NewRequest[actors.Ping]()
	return ask(tb, cast, cast.StatusPID, &actors.ForceStatus{Status: s, Reply: r}, r.Answered())
}

func setSource(tb testing.TB, cast *actors.Cast, src any) actors.Ping {
	tb.Helper()
	r := actors.NewRequest[actors.Ping]()
	return ask(tb, cast, cast.StatusPID, &actors.SetCustomSource{Source: src, Reply: r}, r.Answered())
}

func observe(tb testing.TB, cast *actors.Cast, src any, s actors.Status) actors.Ping {
	tb.Helper()
	r := actors.NewRequest[actors.Ping]()
	return ask(tb, cast, cast.StatusPID, &actors.ObserveCustom{Source: src, Status: s, Reply: r}, r.Answered())
}

func TestStatusPriority(t *testing.T) {
	src := new(int)
	tests := []struct {
		name   string
		busy   bool          // one task tracked
		custom actors.Status // what the custom function reports; unset: no function
		forced actors.Status // forced status; unset: none
		want   actors.Status
	}{
		{name: "idle", want: actors.Healthy},
		{name: "busy", busy: true, want: actors.HealthyBusy},
		{name: "custom beats automatic", busy: true, custom: actors.Healthy, want: actors.Healthy},
		{name: "custom busy while idle", custom: actors.HealthyBusy, want: actors.HealthyBusy},
		{name: "forced beats custom", custom: actors.HealthyBusy, forced: actors.Healthy, want: actors.Healthy},
		{name: "forced beats automatic", busy: true, forced: actors.Healthy, want: actors.Healthy},
		{name: "forced busy while idle", forced: actors.HealthyBusy, want: actors.HealthyBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cast := mustSpawn(t)
			if tt.busy {
				track(t, cast, 1)
			}
			if tt.custom != actors.StatusUnset {
				setSource(t, cast, src)
				observe(t, cast, src, tt.custom)
			}
			if tt.forced != actors.StatusUnset {
				force(t, cast, tt.forced)
			}
			if got := cast.Status.Snapshot().Status; got != tt.want {
				t.Errorf("status %s, want %s", got, tt.want)
			}
		})
	}
}

// The change time moves exactly when the status changes, whatever the source.
func TestStatusSinceMovesOnlyOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cast := mustSpawn(t)
		src := new(int)
		start := time.Now()
		steps := []struct {
			name    string
			do      func()
			want    actors.Status
			changed bool
		}{
			{"first task", func() { track(t, cast, 1) }, actors.HealthyBusy, true},
			{"second task", func() { track(t, cast, 2) }, actors.HealthyBusy, false},
			{"one of two done", func() { untrack(t, cast, 1) }, actors.HealthyBusy, false},
			{"force busy while busy", func() { force(t, cast, actors.HealthyBusy) }, actors.HealthyBusy, false},
			{"force healthy", func() { force(t, cast, actors.Healthy) }, actors.Healthy, true},
			{"last done while forced", func() { untrack(t, cast, 2) }, actors.Healthy, false},
			{"clear forced, idle", func() { force(t, cast, actors.StatusUnset) }, actors.Healthy, false},
			{"custom function installed", func() { setSource(t, cast, src) }, actors.Healthy, false},
			{"custom says busy", func() { observe(t, cast, src, actors.HealthyBusy) }, actors.HealthyBusy, true},
			{"custom says busy again", func() { observe(t, cast, src, actors.HealthyBusy) }, actors.HealthyBusy, false},
			{"custom function removed", func() { setSource(t, cast, nil) }, actors.Healthy, true},
			{"stale report from the removed function", func() { observe(t, cast, src, actors.HealthyBusy) }, actors.Healthy, false},
		}
		prev := cast.Status.Snapshot().Ping
		if prev.Status != actors.Healthy || !prev.Since.Equal(start) {
			t.Fatalf("initial ping %+v, want Healthy since %v", prev, start)
		}
		for _, step := range steps {
			time.Sleep(time.Second) // advances the bubble's clock, so a new stamp differs
			step.do()
			got := cast.Status.Snapshot().Ping
			if got.Status != step.want {
				t.Fatalf("%s: status %s, want %s", step.name, got.Status, step.want)
			}
			if moved := !got.Since.Equal(prev.Since); moved != step.changed {
				t.Fatalf("%s: since moved=%v (from %v to %v), want %v", step.name, moved, prev.Since, got.Since, step.changed)
			}
			if step.changed && !got.Since.Equal(time.Now()) {
				t.Fatalf("%s: since %v, want now %v", step.name, got.Since, time.Now())
			}
			prev = got
		}
	})
}

func TestStatusUntrackUnknown(t *testing.T) {
	cast := mustSpawn(t)
	if untrack(t, cast, 42) {
		t.Error("untracking an unknown task answered true")
	}
	track(t, cast, 42)
	if !untrack(t, cast, 42) {
		t.Error("untracking a tracked task answered false")
	}
	if untrack(t, cast, 42) {
		t.Error("untracking twice answered true")
	}
	if s := cast.Status.Snapshot().Status; s != actors.Healthy {
		t.Errorf("status %s after the only task left, want Healthy", s)
	}
}

func TestStatusTaskInfoInStartOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cast := mustSpawn(t)
		for _, id := range []actors.TaskID{3, 1, 2} {
			r := actors.NewRequest[actors.TaskStart]()
			entry := actors.TaskEntry{ID: id, Name: "job" + id.String(), Started: time.Now().Add(-time.Duration(id) * time.Second)}
			ask(t, cast, cast.StatusPID, &actors.TrackTask{Entry: entry, Reply: r}, r.Answered())
		}
		r := make(chan actors.TaskInfo, 1)
		info := ask(t, cast, cast.StatusPID, &actors.GetTaskInfo{Reply: r}, r)
		if info.ActiveCount != 3 || len(info.RunningJobs) != 3 {
			t.Fatalf("info %+v, want 3 jobs", info)
		}
		for i, job := range info.RunningJobs {
			id := actors.TaskID(i + 1)
			if job.ID != id || job.Name != "job"+id.String() || job.Duration != time.Duration(id)*time.Second {
				t.Errorf("job %d = %+v, want id %d, duration %ds", i, job, id, id)
			}
		}
	})
}

func TestStatusAwaitIdle(t *testing.T) {
	cast := mustSpawn(t)
	track(t, cast, 7)
	idle := make(chan struct{}, 1)
	cast.System.Root.Send(cast.StatusPID, &actors.AwaitIdle{Reply: idle})
	track(t, cast, 8) // a round trip: AwaitIdle has been handled
	select {
	case <-idle:
		t.Fatal("AwaitIdle answered while tasks are tracked")
	default:
	}
	untrack(t, cast, 7)
	untrack(t, cast, 8)
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("AwaitIdle not answered once the registry emptied")
	}
}

// A panic in a top-level actor's Receive is logged with the message type and
// stack, and the actor resumes: a restart would stop the task supervisor's
// children, so a hand-tracked task could no longer be completed.
func TestTopLevelActorPanicIsLoggedAndResumed(t *testing.T) {
	// A command without its request panics when the actor takes it.
	tests := []struct {
		name    string
		pid     func(*actors.Cast) *actor.PID
		msg     any
		msgType string
	}{
		{"status actor", func(c *actors.Cast) *actor.PID { return c.StatusPID }, &actors.ForceStatus{Status: actors.HealthyBusy}, "*actors.ForceStatus"},
		{"task supervisor", func(c *actors.Cast) *actor.PID { return c.TasksPID }, &actors.CancelTask{ID: 1 << 60}, "*actors.CancelTask"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &logbuf.Buffer{}
			cast := mustSpawnLogged(t, zerolog.New(logs))
			started := actors.NewRequest[actors.TaskStart]()
			task := ask(t, cast, cast.TasksPID, &actors.StartTask{Spec: &actors.TaskSpec{Name: "manual"}, Reply: started}, started.Answered())
			cast.System.Root.Send(tt.pid(cast), tt.msg)
			// Answered after the panic: the task supervisor still has the
			// task and its actor, and the status actor untracks it.
			completed := actors.NewRequest[bool]()
			if !ask(t, cast, cast.TasksPID, &actors.CompleteTask{ID: task.ID, Reply: completed}, completed.Answered()) {
				t.Fatal("after the panic the hand-tracked task could not be completed")
			}
			out := logs.String()
			for _, want := range []string{`"message":"actor panicked"`, `"message_type":"` + tt.msgType + `"`, `"stack":"goroutine`} {
				if !strings.Contains(out, want) {
					t.Fatalf("log %q lacks %s", out, want)
				}
			}
		})
	}
}
