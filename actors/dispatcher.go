package actors

import (
	"runtime"
	"sync"
)

// throughput is how many messages a mailbox run handles before it yields,
// protoactor's default.
const throughput = 300

// poolDispatcher runs mailboxes on a few goroutines that live as long as
// the cast. protoactor's default dispatcher starts a new goroutine each time
// a mailbox wakes up, and those fresh goroutines spent a fifth to a third of
// the CPU growing their stacks.
//
// A mailbox schedules itself only when it goes from idle to running, so a
// mailbox never runs twice at once, whatever the number of workers. Schedule
// never blocks: when the queue is full (or the pool is closed) the run gets
// a goroutine of its own, as protoactor would give it. Only actors whose
// Receive never blocks may use a pool.
type poolDispatcher struct {
	work chan func() // drained by the workers
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// newPoolDispatcher starts workers goroutines with a queue of queue runs.
func newPoolDispatcher(workers, queue int) *poolDispatcher {
	d := &poolDispatcher{work: make(chan func(), queue), stop: make(chan struct{})}
	for range workers {
		d.wg.Go(d.loop)
	}
	return d
}

// newTaskDispatcher is the pool shared by all task actors: one worker per
// core.
func newTaskDispatcher() *poolDispatcher { return newPoolDispatcher(runtime.GOMAXPROCS(0), 4096) }

// Schedule runs fn on a worker, or on a new goroutine if none can take it.
func (d *poolDispatcher) Schedule(fn func()) {
	select {
	case <-d.stop:
		go fn()
		return
	default:
	}
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

// Throughput is the number of messages handled per mailbox run.
func (d *poolDispatcher) Throughput() int { return throughput }

func (d *poolDispatcher) loop() {
	for {
		select {
		case fn := <-d.work:
			fn()
		case <-d.stop:
			for {
				select {
				case fn := <-d.work:
					fn()
				default:
					return
				}
			}
		}
	}
}

// Close stops the workers once the queued runs are done, and waits for
// them. Safe to call twice.
func (d *poolDispatcher) Close() {
	d.once.Do(func() { close(d.stop) })
	d.wg.Wait()
}
