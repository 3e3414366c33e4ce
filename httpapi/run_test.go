package httpapi_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// runResult runs srv.Run until cancel, bounded: Run must return.
func runResult(t *testing.T, srv *httpapi.Server, ctx context.Context) error {
	t.Helper()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	select {
	case err := <-ran:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// An address Run cannot listen on is an error at once, even with a task
// that would never end, and the supervisor is stopped.
func TestRunCannotListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	sup := mustSupervisor(t)
	if _, err := sup.Go("forever", nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }); err != nil {
		t.Fatal(err)
	}
	srv := mustNew(t, httpapi.Config{Supervisor: sup, Addr: taken.Addr().String()})
	if err := runResult(t, srv, context.Background()); err == nil {
		t.Fatal("Run on a taken address: nil, want the listen error")
	}
	if _, err := sup.Go("after", nil, func(context.Context) error { return nil }); err == nil {
		t.Fatal("the supervisor still takes tasks after Run failed")
	}
}

// Run returns when its supervisor's stop fails (its actors do not answer in
// time): the HTTP server is stopped all the same.
func TestRunReturnsWhenTheSupervisorFails(t *testing.T) {
	for range 10 {
		sup, err := supervisor.New(supervisor.Config{RequestTimeout: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		srv := mustNew(t, httpapi.Config{Supervisor: sup, Addr: "127.0.0.1:0", DrainTimeout: time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // stop at once
		_ = runResult(t, srv, ctx)
	}
}
