package supervisor

import (
	"sync/atomic"
	"time"
)

// bound gives calls without a context a deadline without a timer each: calls
// share an epoch that ends 2×period after it began, and a new epoch begins
// once the current one is older than period, so every call waits at least
// period and at most twice that. A timer per call cost a sixth of the
// allocations of an AddAsyncTask+CompleteAsyncTask pair.
type bound struct {
	period time.Duration
	cur    atomic.Pointer[epoch]
}

type epoch struct {
	begun time.Time
	over  chan struct{} // closed when the epoch ends
	timer *time.Timer
}

// deadline returns a channel closed at least period from now.
func (b *bound) deadline() <-chan struct{} {
	e := b.cur.Load()
	if e != nil && time.Since(e.begun) < b.period {
		return e.over
	}
	next := &epoch{begun: time.Now(), over: make(chan struct{})}
	next.timer = time.AfterFunc(2*b.period, func() { close(next.over) })
	if b.cur.CompareAndSwap(e, next) {
		return next.over
	}
	next.timer.Stop() // another call installed one first
	return b.cur.Load().over
}

// stop stops the current epoch's timer; calls still waiting on it are
// answered by the supervisor's stop.
func (b *bound) stop() {
	if e := b.cur.Load(); e != nil {
		e.timer.Stop()
	}
}
