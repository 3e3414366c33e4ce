package actors

import "sync"

// throughput is how many messages a mailbox run handles before it yields,
// protoactor's default.
const throughput = 300

// pinnedDispatcher runs one actor's mailbox on a goroutine of its own that
// lives as long as the actor. protoactor's default dispatcher starts a new
// goroutine each time the mailbox wakes up, and on the hot actors that fresh
// goroutine spent a third of the CPU growing its stack.
//
// A mailbox schedules itself only when it goes from idle to running, so at
// most one run waits while another finishes: a buffer of one never blocks.
type pinnedDispatcher struct {
	work chan func() // drained by loop
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newPinnedDispatcher() *pinnedDispatcher {
	d := &pinnedDispatcher{work: make(chan func(), 1), stop: make(chan struct{}), done: make(chan struct{})}
	go d.loop()
	return d
}

// Schedule runs fn on the dispatcher's goroutine; after Close (a message
// racing the actor's stop), on a goroutine of its own, as protoactor would.
func (d *pinnedDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	case <-d.stop:
		go fn()
	}
}

// Throughput is the number of messages handled per mailbox run.
func (d *pinnedDispatcher) Throughput() int { return throughput }

func (d *pinnedDispatcher) loop() {
	defer close(d.done)
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

// Close stops the goroutine once the run in progress and one waiting are
// done, and waits for it. Safe to call twice.
func (d *pinnedDispatcher) Close() {
	d.once.Do(func() { close(d.stop) })
	<-d.done
}
