// Command agentsoak is `make soak`: it builds and starts the kitchensink
// agent on 127.0.0.1, drives it for a while with /ping polls and invocations
// that churn tasks (some fail, some panic), and reports requests served,
// errors (there must be none), /ping latency, the agent's RSS over time and
// its final status. It exits non-zero when anything was wrong.
//
//	go run ./internal/cmd/agentsoak -duration 60s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentsoak:", err)
		os.Exit(1)
	}
}

// errSoakFailed is a soak that saw errors, or an agent that did not end
// Healthy or did not exit cleanly.
var errSoakFailed = errors.New("soak failed")

type options struct {
	duration time.Duration
	workers  int
	agent    string // path to a built kitchensink binary; empty: build one
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("agentsoak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to drive the agent")
	fs.IntVar(&o.workers, "workers", 32, "concurrent clients")
	fs.StringVar(&o.agent, "agent", "", "kitchensink binary to run (default: go build ./examples/kitchensink)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.duration <= 0 || o.workers <= 0 {
		return fmt.Errorf("-duration and -workers must be positive")
	}
	a, err := startAgent(ctx, o.agent)
	if err != nil {
		return err
	}
	defer a.kill()
	rep, err := soak(ctx, a, o)
	if err != nil {
		return err
	}
	rep.exit = a.stop()
	rep.print(stdout)
	return rep.verdict()
}

// soak drives the agent for o.duration, sampling its RSS, then waits for it
// to settle and reads its final status.
func soak(ctx context.Context, a *agent, o options) (*report, error) {
	rep := &report{duration: o.duration, workers: o.workers}
	rss, err := a.rss()
	if err != nil {
		return nil, err
	}
	rep.rss = append(rep.rss, rss)
	loadCtx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	l := newLoad(a.base, o.workers)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(loadCtx)
	}()
	rep.rss = append(rep.rss, sampleRSS(loadCtx, a, 10*time.Second)...)
	<-done
	rep.load = l.results()
	rep.final, rep.settle = a.settle(ctx, 15*time.Second)
	if rss, err := a.rss(); err == nil {
		rep.rss = append(rep.rss, rss)
	}
	return rep, nil
}

// sampleRSS reads the agent's RSS every interval until ctx is done.
func sampleRSS(ctx context.Context, a *agent, interval time.Duration) []int64 {
	var out []int64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
			if rss, err := a.rss(); err == nil {
				out = append(out, rss)
			}
		}
	}
}
