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
		if spent := g.spent.Load(); spent != 0 {
			t.Fatalf("new window starts with %dns spent, want 0", spent)
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
