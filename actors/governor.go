package actors

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultActorShare is the share of the CPU the actors' message handling may
// take while the program serves requests, unless configured otherwise.
const DefaultActorShare = 0.1

// governWindow is the period over which the governor adds up handling time.
// A request marks the program as serving for two windows.
const governWindow = time.Millisecond

// governor keeps the actors' own work (starting, tracking and stopping tasks,
// not the tasks' functions) from starving the requests the program serves.
// Go's scheduler runs goroutines that are ready before it looks for sockets
// that are: a flood of task starts, which keeps the actors' workers always
// ready, left /ping waiting for the CPU. While requests are being served
// (Foreground), every message handled counts against a budget of share ×
// GOMAXPROCS of each window, and a worker that finds the budget spent sleeps
// until the next window, leaving the CPU to the requests. With no request in
// the last two windows the actors run unbounded.
//
// Every field is atomic: the governor is shared by every mailbox of a cast.
// A new window's reset is not atomic as a whole, so the bound is approximate
// by a message or so: one counted during the reset is forgotten, or a worker
// waits a window longer than it had to.
type governor struct {
	origin time.Time
	share  float64
	// serving is when Foreground was last called, in ns since origin.
	serving atomic.Int64
	// begun is when the current window began, in ns since origin; spent is
	// the handling time counted in it, budget what it allows.
	begun  atomic.Int64
	spent  atomic.Int64
	budget atomic.Int64
}

// newGovernor returns a governor that bounds the actors to share of the CPU
// while requests are served; share 1 or more never waits.
func newGovernor(share float64) *governor {
	g := &governor{origin: time.Now(), share: share}
	g.serving.Store(math.MinInt64 / 2) // no request yet
	g.begun.Store(math.MinInt64 / 2)   // the first admit opens a window
	return g
}

func (g *governor) now() int64 { return int64(time.Since(g.origin)) }

// Foreground records that a request is being served now. Calls within a
// tenth of a window store nothing: the HTTP side calls it per request.
func (g *governor) Foreground() {
	now := g.now()
	if now-g.serving.Load() > int64(governWindow/10) {
		g.serving.Store(now)
	}
}

// admit returns when a message may be handled: at once unless requests are
// being served and this window's budget is spent, else at the next window.
// It returns the time to count the message's handling from, or -1 when
// nothing is counted.
func (g *governor) admit() int64 {
	if g.share >= 1 {
		return -1
	}
	for {
		now := g.now()
		if now-g.serving.Load() > int64(2*governWindow) {
			return -1
		}
		begun := g.begun.Load()
		if now-begun >= int64(governWindow) {
			if g.begun.CompareAndSwap(begun, now) {
				g.budget.Store(int64(g.share * float64(governWindow) * float64(runtime.GOMAXPROCS(0))))
				g.spent.Store(0)
			}
			continue
		}
		if g.spent.Load() < g.budget.Load() {
			return now
		}
		time.Sleep(time.Duration(begun + int64(governWindow) - now))
	}
}

// done counts the handling of a message admitted at since.
func (g *governor) done(since int64) {
	if since >= 0 {
		g.spent.Add(g.now() - since)
	}
}

// mailbox returns a producer of inner's mailboxes whose every message goes
// through the governor.
func (g *governor) mailbox(inner actor.MailboxProducer) actor.MailboxProducer {
	return func() actor.Mailbox { return &governedMailbox{Mailbox: inner(), gov: g} }
}

// governedMailbox is a mailbox that stands between itself and its actor: it
// admits each message through the governor and counts its handling.
type governedMailbox struct {
	actor.Mailbox
	gov     *governor
	invoker actor.MessageInvoker
}

func (m *governedMailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.invoker = invoker
	m.Mailbox.RegisterHandlers(m, dispatcher)
}

func (m *governedMailbox) InvokeSystemMessage(msg any) {
	since := m.gov.admit()
	m.invoker.InvokeSystemMessage(msg)
	m.gov.done(since)
}

func (m *governedMailbox) InvokeUserMessage(msg any) {
	since := m.gov.admit()
	m.invoker.InvokeUserMessage(msg)
	m.gov.done(since)
}

func (m *governedMailbox) EscalateFailure(reason, msg any) { m.invoker.EscalateFailure(reason, msg) }
