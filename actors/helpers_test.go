package actors_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/actors"
	"github.com/agentvisor/agentvisor/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// mustSpawn starts a cast in a fresh actor system and stops both at the end
// of the test.
func mustSpawn(tb testing.TB) *actors.Cast { return mustSpawnLogged(tb, zerolog.Nop()) }

// mustSpawnLogged is mustSpawn with the cast logging to log.
func mustSpawnLogged(tb testing.TB, log zerolog.Logger) *actors.Cast {
	tb.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	cast, err := actors.Spawn(system, actors.Options{}, log)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := cast.Stop(); err != nil {
			tb.Error(err)
		}
		system.Shutdown()
		cast.Running.Wait()
	})
	return cast
}

// ask sends msg to pid and waits up to 5 s for the answer on reply.
func ask[T any](tb testing.TB, cast *actors.Cast, pid *actor.PID, msg any, reply <-chan T) T {
	tb.Helper()
	cast.System.Root.Send(pid, msg)
	select {
	case r := <-reply:
		return r
	case <-time.After(5 * time.Second):
		tb.Fatalf("no answer to %T", msg)
		panic("unreachable")
	}
}
