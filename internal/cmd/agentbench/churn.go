package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// churn starts and ends tasks as fast as the agent allows, from a few
// goroutines: even ones run Go of an empty function, odd ones pair
// AddAsyncTask with CompleteAsyncTask, so both paths of the task supervisor
// and the status actor stay busy. It owns its goroutines: stop ends them
// and waits.
type churn struct {
	sup     *supervisor.Supervisor
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started time.Time
	starts  atomic.Int64 // tasks started, both kinds

	mu  sync.Mutex // guards err, set by the goroutines
	err error
}

func startChurn(sup *supervisor.Supervisor, workers int) *churn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &churn{sup: sup, cancel: cancel, started: time.Now()}
	for w := range workers {
		loop := c.goLoop
		if w%2 == 1 {
			loop = c.pairLoop
		}
		c.wg.Go(func() { c.fail(loop(ctx)) })
	}
	return c
}

var emptyTask = func(context.Context) error { return nil }

func (c *churn) goLoop(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := c.sup.Go("churn", nil, emptyTask); err != nil {
			return err
		}
		c.starts.Add(1)
	}
	return nil
}

func (c *churn) pairLoop(ctx context.Context) error {
	for ctx.Err() == nil {
		id := c.sup.AddAsyncTask("churn", nil)
		c.starts.Add(1)
		if !c.sup.CompleteAsyncTask(id) {
			return fmt.Errorf("churn: CompleteAsyncTask(%d) answered false: %w", id, ErrInexact)
		}
	}
	return nil
}

// during runs f and counts the task starts while it runs.
func (c *churn) during(f func() error) (rate, error) {
	start, before := time.Now(), c.starts.Load()
	err := f()
	return rate{ops: int(c.starts.Load() - before), elapsed: time.Since(start)}, err
}

func (c *churn) fail(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = errors.Join(c.err, err)
}

// stop ends the churn, waits for its goroutines and then for the last task
// to end, and returns the task starts it achieved. The status must be exact
// afterwards.
func (c *churn) stop(ctx context.Context) (rate, error) {
	c.cancel()
	c.wg.Wait()
	r := rate{ops: int(c.starts.Load()), elapsed: time.Since(c.started)}
	if err := c.sup.WaitIdle(ctx); err != nil {
		return r, fmt.Errorf("churn: wait for the last tasks: %w", err)
	}
	r.exactErr = checkIdle(c.sup)
	c.mu.Lock()
	defer c.mu.Unlock()
	return r, c.err
}
