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

	"github.com/agentvisor/agentvisor/supervisor"
)

func TestForcedStatus(t *testing.T) {
	sup, _ := mustNew(t, supervisor.Config{})
	if err := sup.ForcePingStatus(supervisor.HealthyBusy); err != nil {
		t.Fatal(err)
	}
	if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
		t.Fatalf("forced busy while idle: %s", s)
	}
	id := sup.AddAsyncTask("t", nil)
	if err := sup.ForcePingStatus(supervisor.Healthy); err != nil {
		t.Fatal(err)
	}
	if s := sup.PingStatus().Status; s != supervisor.Healthy {
		t.Fatalf("forced healthy while busy: %s", s)
	}
	if err := sup.ClearForcedPingStatus(); err != nil {
		t.Fatal(err)
	}
	if s := sup.PingStatus().Status; s != supervisor.HealthyBusy {
		t.Fatalf("cleared while a task runs: %s, want HealthyBusy", s)
	}
	sup.CompleteAsyncTask(id)
	if err := sup.ForcePingStatus(supervisor.Status(7)); !errors.Is(err, supervisor.ErrInvalidStatus) {
		t.Fatalf("forcing an invalid status: %v, want ErrInvalidStatus", err)
	}
}

// A custom ping function beats the automatic status and loses to a forced
// one; when it fails in any way the automatic status is used and the failure
// logged.
func TestCustomPingFunc(t *testing.T) {
	tests := []struct {
		name    string
		fn      supervisor.PingFunc
		busy    bool // a task is tracked
		want    supervisor.Status
		logText string // in the failure's log line; empty: no failure
	}{
		{name: "busy while idle", fn: constant(supervisor.HealthyBusy), want: supervisor.HealthyBusy},
		{name: "healthy while busy", fn: constant(supervisor.Healthy), busy: true, want: supervisor.Healthy},
		{name: "error", busy: true, want: supervisor.HealthyBusy, logText: "no database",
			fn: func(context.Context) (supervisor.Status, error) { return supervisor.Healthy, errors.New("no database") }},
		{name: "panic", want: supervisor.Healthy, logText: "panicked: boom",
			fn: func(context.Context) (supervisor.Status, error) { panic("boom") }},
		{name: "invalid status", busy: true, want: supervisor.HealthyBusy, logText: "invalid status",
			fn: constant(supervisor.Status(0))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sup, logs := mustNew(t, supervisor.Config{})
			if tt.busy {
				sup.AddAsyncTask("t", nil)
			}
			if err := sup.SetPingFunc(tt.fn); err != nil {
				t.Fatal(err)
			}
			if s := sup.PingStatus().Status; s != tt.want {
				t.Fatalf("status %s, want %s", s, tt.want)
			}
			failures := logs.find(t, "custom ping function failed; using the automatic status", 0)
			if tt.logText == "" && len(failures) != 0 {
				t.Fatalf("unexpected failure logs %v", failures)
			}
			if tt.logText != "" && (len(failures) != 1 || !strings.Contains(failures[0]["error"].(string), tt.logText)) {
				t.Fatalf("failure logs %v, want one with %q", failures, tt.logText)
			}
			if err := sup.ForcePingStatus(supervisor.Healthy); err != nil {
				t.Fatal(err)
			}
			if s := sup.PingStatus().Status; s != supervisor.Healthy {
				t.Fatalf("forced healthy over the custom function: %s", s)
			}
		})
	}
}

func constant(s supervisor.Status) supervisor.PingFunc {
	return func(context.Context) (supervisor.Status, error) { return s, nil }
}

// A function that hangs does not hold /ping: past the bound the automatic
// status is answered, and later pings do not wait for it again.
func TestCustomPingFuncHangs(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, logs := mustNew(t, supervisor.Config{PingFuncTimeout: time.Second})
		release := make(chan struct{})
		var calls atomic.Int32
		sup.SetPingFunc(func(context.Context) (supervisor.Status, error) {
			calls.Add(1)
			<-release // ignores its context
			return supervisor.HealthyBusy, nil
		})
		start := time.Now()
		if s := sup.PingStatus().Status; s != supervisor.Healthy {
			t.Fatalf("hanging function: %s, want the automatic Healthy", s)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Fatalf("first ping waited %s, want the 1s bound", waited)
		}
		start = time.Now()
		sup.PingStatus()
		if waited := time.Since(start); waited != 0 || calls.Load() != 1 {
			t.Fatalf("second ping waited %s and the function ran %d times; want no wait, one call", waited, calls.Load())
		}
		if n := len(logs.find(t, "custom ping function failed; using the automatic status", 0)); n != 2 {
			t.Fatalf("%d failure lines, want 2", n)
		}
		close(release)
		synctest.Wait()
		if s := sup.PingStatus().Status; s != supervisor.HealthyBusy || calls.Load() != 2 {
			t.Fatalf("after the function recovered: %s after %d calls, want HealthyBusy after 2", s, calls.Load())
		}
	})
}

// The change time moves when the custom function's answer changes the status,
// and only then; removing the function goes back to the automatic status.
func TestCustomPingFuncChangeTime(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		var mu sync.Mutex
		answer := supervisor.Healthy
		sup.SetPingFunc(func(context.Context) (supervisor.Status, error) {
			mu.Lock()
			defer mu.Unlock()
			return answer, nil
		})
		first := sup.PingStatus()
		time.Sleep(time.Second)
		if p := sup.PingStatus(); p != first {
			t.Fatalf("same answer: %+v, want unchanged %+v", p, first)
		}
		mu.Lock()
		answer = supervisor.HealthyBusy
		mu.Unlock()
		busy := sup.PingStatus()
		if busy.Status != supervisor.HealthyBusy || !busy.Since.Equal(time.Now()) {
			t.Fatalf("changed answer: %+v, want HealthyBusy since now", busy)
		}
		time.Sleep(time.Second)
		sup.SetPingFunc(nil)
		back := sup.PingStatus()
		if back.Status != supervisor.Healthy || !back.Since.Equal(time.Now()) {
			t.Fatalf("function removed: %+v, want Healthy since now", back)
		}
	})
}
