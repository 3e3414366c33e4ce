package platform

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/logbuf"
)

// fakeAgent is an agent with no process: its /ping answer is a function of
// the time, and it records the signals it gets, so that the lifecycle rules
// run in a testing/synctest bubble, to the second.
type fakeAgent struct {
	answer     func(now time.Time) string // the /ping body; "" fails the ping
	ignoreTerm bool

	mu      sync.Mutex // guards termAt, killAt and exit
	termAt  time.Time
	killAt  time.Time
	exit    exitStatus
	exited  chan struct{}
	exitOne sync.Once
}

func newFakeAgent(answer func(time.Time) string) *fakeAgent {
	return &fakeAgent{answer: answer, exited: make(chan struct{})}
}

func (f *fakeAgent) PID() int                { return 4242 }
func (f *fakeAgent) Port() int               { return 8080 }
func (f *fakeAgent) Base() string            { return "http://fake" }
func (f *fakeAgent) Exited() <-chan struct{} { return f.exited }

func (f *fakeAgent) Ping(context.Context) (pingAnswer, error) {
	body := f.answer(time.Now())
	if body == "" {
		return pingAnswer{}, errors.New("connection refused")
	}
	return parsePing([]byte(body))
}

func (f *fakeAgent) Signal(sig syscall.Signal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case sig == syscall.SIGTERM && f.termAt.IsZero():
		f.termAt = time.Now()
		if !f.ignoreTerm {
			f.die(exitStatus{Code: 0})
		}
	case sig == syscall.SIGKILL && f.killAt.IsZero() && !f.dead():
		f.killAt = time.Now()
		f.die(exitStatus{Code: -1, Signal: "killed"})
	}
}

// signalled is when SIGTERM and SIGKILL came, zero when they did not.
func (f *fakeAgent) signalled() (term, kill time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.termAt, f.killAt
}

func (f *fakeAgent) dead() bool {
	select {
	case <-f.exited:
		return true
	default:
		return false
	}
}

// die ends the agent; f.mu is held.
func (f *fakeAgent) die(st exitStatus) {
	f.exitOne.Do(func() { f.exit = st; close(f.exited) })
}

func (f *fakeAgent) Exit() exitStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exit
}

// ping bodies.
func healthy(at time.Time) string {
	return fmt.Sprintf(`{"status":"Healthy","time_of_last_update":%d}`, at.Unix())
}
func busy(at time.Time) string {
	return fmt.Sprintf(`{"status":"HealthyBusy","time_of_last_update":%d}`, at.Unix())
}

// lifecycleConfig is the platform's defaults, shortened.
var lifecycleConfig = Config{IdleTimeout: 60 * time.Second, MaxLifetime: 600 * time.Second,
	PingInterval: 2 * time.Second, PingTimeout: time.Second, StopGrace: 15 * time.Second}

// newFakeEmulator is an Emulator whose sessions get the agents in turn.
func newFakeEmulator(t *testing.T, agents ...*fakeAgent) (*Emulator, *logbuf.Buffer) {
	t.Helper()
	logs := &logbuf.Buffer{}
	cfg := lifecycleConfig
	cfg.Logger = zerolog.New(logs)
	var mu sync.Mutex // guards next
	next := 0
	cfg.launch = func(context.Context, string) (agent, error) {
		mu.Lock()
		defer mu.Unlock()
		if next == len(agents) {
			return nil, fmt.Errorf("%w: test has no agent left", ErrAgentStart)
		}
		next++
		return agents[next-1], nil
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, logs
}

const sessionA = "session-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// invokeAt records an invocation of sessionA now, as the API does.
func invokeNow(t *testing.T, e *Emulator) {
	t.Helper()
	s, err := e.acquire(t.Context(), sessionA, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.release()
}

// ended is the reason of each "session ended" line.
func ended(t *testing.T, logs *logbuf.Buffer) []string {
	t.Helper()
	var out []string
	for _, l := range logs.Lines(t) {
		if l["message"] == "session ended" {
			out = append(out, l["reason"].(string))
		}
	}
	return out
}

// The platform's idle rules, each to the second: when SIGTERM comes and why.
func TestLifecycleRules(t *testing.T) {
	idle, life := lifecycleConfig.IdleTimeout, lifecycleConfig.MaxLifetime
	tests := []struct {
		name string
		// answer is the agent's /ping at now, t0 being the first invocation.
		answer func(t0, now time.Time) string
		// invokeAt are the later invocations, after t0.
		invokeAt []time.Duration
		// wantTerm is when SIGTERM comes, after t0; wantReason why.
		wantTerm   time.Duration
		wantReason string
	}{
		{"Healthy with an old time: last invocation + idle",
			func(t0, _ time.Time) string { return healthy(t0.Add(-time.Hour)) }, nil, idle, "idle"},
		{"a later invocation restarts the clock",
			func(t0, _ time.Time) string { return healthy(t0.Add(-time.Hour)) }, []time.Duration{45 * time.Second}, 45*time.Second + idle, "idle"},
		{"a time after the last invocation: that time + idle",
			func(t0, _ time.Time) string { return healthy(t0.Add(20 * time.Second)) }, nil, 20*time.Second + idle, "idle"},
		{"HealthyBusy with an integer time holds until max lifetime",
			func(t0, _ time.Time) string { return busy(t0) }, nil, life, "lifetime"},
		{"busy for 100 s, then Healthy: the change's time + idle",
			func(t0, now time.Time) string {
				if end := t0.Add(100 * time.Second); now.Before(end) {
					return busy(t0)
				} else {
					return healthy(end)
				}
			}, nil, 100*time.Second + idle, "idle"},
		{"re-stamped on every ping: held until max lifetime",
			func(_, now time.Time) string { return healthy(now) }, nil, life, "lifetime"},
		{"HealthyBusy without the time: last invocation + idle",
			func(_, _ time.Time) string { return `{"status":"HealthyBusy"}` }, nil, idle, "idle"},
		{"HealthyBusy with an ISO time: last invocation + idle",
			func(_, now time.Time) string {
				return fmt.Sprintf(`{"status":"HealthyBusy","time_of_last_update":%q}`, now.UTC().Format(time.RFC3339))
			}, nil, idle, "idle"},
		{"HealthyBusy with a fractional time: last invocation + idle",
			func(_, now time.Time) string {
				return fmt.Sprintf(`{"status":"HealthyBusy","time_of_last_update":%d.5}`, now.Unix())
			}, nil, idle, "idle"},
		{"an unknown status with a time counts as not busy",
			func(t0, _ time.Time) string {
				return fmt.Sprintf(`{"status":"Busy","time_of_last_update":%d}`, t0.Unix())
			}, nil, idle, "idle"},
		{"three failed pings in a row: unhealthy",
			func(_, _ time.Time) string { return "" }, nil, 3 * lifecycleConfig.PingInterval, "unhealthy"},
		{"two failed pings between answers hold nothing and end nothing",
			func(t0, now time.Time) string {
				if n := now.Sub(t0) / lifecycleConfig.PingInterval; n%3 != 0 {
					return ""
				}
				return healthy(t0.Add(-time.Hour))
			}, nil, idle, "idle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				a := newFakeAgent(func(now time.Time) string { return tt.answer(t0, now) })
				e, logs := newFakeEmulator(t, a)
				invokeNow(t, e)
				for _, at := range tt.invokeAt {
					time.Sleep(t0.Add(at).Sub(time.Now()))
					invokeNow(t, e)
				}
				time.Sleep(life + time.Hour)
				synctest.Wait()
				if term, _ := a.signalled(); term.Sub(t0) != tt.wantTerm {
					got := term.Sub(t0)
					t.Errorf("SIGTERM at t0+%v, want t0+%v", got, tt.wantTerm)
				}
				if got := ended(t, logs); len(got) != 1 || got[0] != tt.wantReason {
					t.Errorf("ended %v, want [%s]", got, tt.wantReason)
				}
				if err := e.Close(t.Context()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// An agent that ignores SIGTERM is killed when the grace is over; one that
// exits on its own is a crash, signalled by nobody.
func TestTermination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		a := newFakeAgent(func(time.Time) string { return healthy(t0.Add(-time.Hour)) })
		a.ignoreTerm = true
		e, logs := newFakeEmulator(t, a)
		invokeNow(t, e)
		time.Sleep(time.Hour)
		if term, kill := a.signalled(); kill.Sub(term) != lifecycleConfig.StopGrace {
			got := kill.Sub(term)
			t.Errorf("SIGKILL %v after SIGTERM, want the grace, %v", got, lifecycleConfig.StopGrace)
		}
		line := findLine(t, logs, "session ended")
		if line["how"] != "killed after the stop grace" || line["signal"] != "killed" {
			t.Errorf("ended as %v", line)
		}
		_ = e.Close(t.Context())
	})
	synctest.Test(t, func(t *testing.T) {
		a := newFakeAgent(func(now time.Time) string { return busy(now) })
		e, logs := newFakeEmulator(t, a)
		invokeNow(t, e)
		time.Sleep(10 * time.Second)
		a.mu.Lock()
		a.die(exitStatus{Code: 3})
		a.mu.Unlock()
		synctest.Wait()
		if term, _ := a.signalled(); !term.IsZero() {
			t.Error("a crashed agent got SIGTERM")
		}
		if line := findLine(t, logs, "session ended"); line["reason"] != "crashed" || line["exit_code"] != 3.0 {
			t.Errorf("ended as %v", line)
		}
		_ = e.Close(t.Context())
	})
}

// Stop ends the session at once; the same id then starts a new session, and
// Close ends that one too.
func TestStopThenNewSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		first := newFakeAgent(func(now time.Time) string { return busy(now) })
		second := newFakeAgent(func(now time.Time) string { return busy(now) })
		e, logs := newFakeEmulator(t, first, second)
		invokeNow(t, e)
		time.Sleep(5 * time.Second)
		if err := e.Stop(sessionA); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !errors.Is(e.Stop(sessionA), ErrNoSession) {
			t.Error("a stopped session can be stopped again")
		}
		invokeNow(t, e)
		synctest.Wait()
		if n := len(e.Sessions()); n != 1 {
			t.Fatalf("%d sessions live, want the new one", n)
		}
		if err := e.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := ended(t, logs); len(got) != 2 || got[0] != "stopped" || got[1] != "shutdown" {
			t.Errorf("ended %v, want [stopped shutdown]", got)
		}
		if term, _ := second.signalled(); term.IsZero() {
			t.Error("Close did not stop the second agent")
		}
		if _, err := e.acquire(t.Context(), sessionA, time.Now()); !errors.Is(err, ErrClosed) {
			t.Errorf("invocation after Close: %v, want ErrClosed", err)
		}
	})
}

func findLine(t *testing.T, logs *logbuf.Buffer, msg string) map[string]any {
	t.Helper()
	for _, l := range logs.Lines(t) {
		if l["message"] == msg {
			return l
		}
	}
	t.Fatalf("no %q line in\n%s", msg, logs.String())
	return nil
}
