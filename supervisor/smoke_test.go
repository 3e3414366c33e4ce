package supervisor_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/supervisor"
)

func TestSmoke(t *testing.T) {
	sup, err := supervisor.New(supervisor.Config{Logger: zerolog.New(os.Stderr).Level(zerolog.DebugLevel)})
	if err != nil {
		t.Fatal(err)
	}
	id := sup.AddAsyncTask("manual", nil)
	t.Log(id, sup.PingStatus())
	t.Log(sup.CompleteAsyncTask(id), sup.CompleteAsyncTask(id), sup.PingStatus())
	n := 0
	id2, err := sup.Go("flaky", nil, func(ctx context.Context) error {
		n++
		if n < 3 {
			return errors.New("flake")
		}
		return nil
	}, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 5, InitialBackoff: time.Millisecond}))
	t.Log(id2, err, sup.PingStatus())
	sup.WaitIdle(context.Background())
	t.Log(sup.PingStatus(), n)
	sup.Go("panicky", nil, func(ctx context.Context) error { panic("oops") })
	sup.WaitIdle(context.Background())
	tr, _ := sup.Tree(context.Background())
	t.Logf("%+v", tr)
	sup.Go("hang", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t.Log(sup.Shutdown(ctx))
	t.Log(sup.Shutdown(ctx))
}
