package actors

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// spend counts d of handling, as a message that took d would.
func spend(g *governor, d time.Duration) { g.spent.Add(int64(d)) }

func budget() time.Duration {
	return time.Duration(0.25 * float64(governWindow) * float64(runtime.GOMAXPROCS(0)))
}

func TestGovernorWaitsForTheNextWindowOnceTheBudgetIsSpent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(0.25)
		g.Foreground()
		start := time.Now()
		g.done(g.admit()) // opens the window, counts nothing
		spend(g, budget()/2)
		g.admit()
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("under budget: waited %s, want no wait", waited)
		}
		time.Sleep(governWindow / 4)
		g.Foreground()
		spend(g, budget())
		g.admit()
		if waited := time.Since(start); waited != governWindow {
			t.Fatalf("budget spent: admitted after %s, want at the next window, %s", waited, governWindow)
		}
		if spent, debt := time.Duration(g.spent.Load()), budget()/2; spent != debt {
			t.Fatalf("new window starts with %s spent, want the %s overspent before", spent, debt)
		}
		if n, want := g.node(), (GovernorNode{ActorShare: 0.25, Waits: 1, WaitedSeconds: (governWindow * 3 / 4).Seconds()}); n != want {
			t.Fatalf("tree node %+v, want %+v", n, want)
		}
	})
}

func TestGovernorLetsActorsRunWhenNoRequestIsServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(0.25)
		if since := g.admit(); since != -1 {
			t.Fatalf("never served: admit counts from %d, want -1 (nothing counted)", since)
		}
		g.Foreground()
		g.admit()
		spend(g, 10*budget())
		time.Sleep(2*governWindow + time.Nanosecond)
		start := time.Now()
		if since := g.admit(); since != -1 || time.Since(start) != 0 {
			t.Fatalf("requests stopped two windows ago: admit waited %s, counts from %d; want no wait, -1", time.Since(start), since)
		}
	})
}

func TestGovernorWithFullShareNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(1)
		g.Foreground()
		spend(g, 10*budget())
		start := time.Now()
		if since := g.admit(); since != -1 || time.Since(start) != 0 {
			t.Fatalf("share 1: admit waited %s, counts from %d; want no wait, -1", time.Since(start), since)
		}
	})
}

// keepServing calls Foreground now and every half window until the test
// ends, as a steady stream of requests would.
func keepServing(t *testing.T, g *governor) {
	g.Foreground()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(governWindow / 2):
				g.Foreground()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// A message that overspends the budget is paid off in the next windows, at
// most maxDebtWindows of them.
func TestGovernorCarriesOverspendingIntoTheNextWindows(t *testing.T) {
	tests := []struct {
		name   string
		spent  time.Duration // by one message in the first window
		admits time.Duration // when the next message is admitted
	}{
		{"three budgets: two windows more", 3 * budget(), 3 * governWindow},
		{"an hour: at most maxDebtWindows more", time.Hour, (maxDebtWindows + 1) * governWindow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGovernor(0.25)
				keepServing(t, g)
				start := time.Now()
				g.done(g.admit())
				spend(g, tt.spent)
				g.admit()
				if waited := time.Since(start); waited != tt.admits {
					t.Fatalf("admitted after %s, want %s", waited, tt.admits)
				}
			})
		})
	}
}

// sleepyInvoker handles each message in d of (virtual) time.
type sleepyInvoker struct{ d time.Duration }

func (s sleepyInvoker) InvokeSystemMessage(any)  { time.Sleep(s.d) }
func (s sleepyInvoker) InvokeUserMessage(any)    { time.Sleep(s.d) }
func (s sleepyInvoker) EscalateFailure(any, any) {}

// Through a governed mailbox, handling 3 ms of messages at share 0.1 takes
// about as many windows as it takes budgets; unbounded, it would take 3 ms.
func TestGovernedMailboxPacesHandlingWhileServing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGovernor(0.1)
		keepServing(t, g)
		m := &governedMailbox{gov: g, invoker: sleepyInvoker{150 * time.Microsecond}}
		const messages = 20
		start := time.Now()
		for range messages {
			m.InvokeUserMessage(nil)
		}
		handling := messages * 150 * time.Microsecond
		perWindow := time.Duration(0.1 * float64(governWindow) * float64(runtime.GOMAXPROCS(0)))
		if least := time.Duration(float64(handling)/float64(perWindow)/2) * governWindow; time.Since(start) < least {
			t.Fatalf("%s of handling took %s, want at least %s at share 0.1", handling, time.Since(start), least)
		}
	})
}
