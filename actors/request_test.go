package actors_test

import (
	"sync"
	"testing"

	"github.com/agentvisor/agentvisor/actors"
)

// Exactly one of Take and Withdraw wins, however they race.
func TestRequestTakeOrWithdraw(t *testing.T) {
	var took, withdrew int
	for range 1000 {
		r := actors.NewRequest[int]()
		var taken, withdrawn bool
		var wg sync.WaitGroup
		wg.Go(func() { taken = r.Take() })
		wg.Go(func() { withdrawn = r.Withdraw() })
		wg.Wait()
		if taken == withdrawn {
			t.Fatalf("Take %v, Withdraw %v: want exactly one", taken, withdrawn)
		}
		if taken {
			took++
		} else {
			withdrew++
		}
	}
	t.Logf("taken %d times, withdrawn %d times", took, withdrew)
}

// A withdrawn command is dropped by the actor: a forced status the caller
// gave up on is never applied.
func TestWithdrawnCommandHasNoEffect(t *testing.T) {
	cast := mustSpawn(t)
	r := actors.NewRequest[actors.Ping]()
	if !r.Withdraw() {
		t.Fatal("a fresh request could not be withdrawn")
	}
	cast.System.Root.Send(cast.StatusPID, &actors.ForceStatus{Status: actors.HealthyBusy, Reply: r})
	// A later command goes through the same mailbox after it.
	later := actors.NewRequest[actors.Ping]()
	if p := ask(t, cast, cast.StatusPID, &actors.SetCustomSource{Reply: later}, later.Answered()); p.Status != actors.Healthy {
		t.Fatalf("status %s after a withdrawn force, want Healthy", p.Status)
	}
	select {
	case p := <-r.Answered():
		t.Fatalf("a withdrawn command was answered: %+v", p)
	default:
	}
}
