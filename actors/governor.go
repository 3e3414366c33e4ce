package actors

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The share of the CPU the actors' message handling may take while the
// program serves requests.
const (
	// DefaultActorShare is the share unless configured otherwise.
	DefaultActorShare = 0.1
	// MinActorShare is the smallest share that can be configured: below
	// it, a window's budget would be too small for a message.
	MinActorShare = 0.01
)

// ErrInvalidActorShare is an Options.ActorShare out of range.
var ErrInvalidActorShare = errors.New("invalid actor share")

// CheckActorShare returns ErrInvalidActorShare (wrapped) unless share is 0
// (the default) or in [MinActorShare, 1].
func CheckActorShare(share float64) error {
	if share == 0 || (share >= MinActorShare && share <= 1) {
		return nil
	}
	return fmt.Errorf("actor share %v: want 0 (the default) or a share in [%v, 1]: %w", share, MinActorShare, ErrInvalidActorShare)
}

// governWindow is the period over which the governor adds up handling time.
// A request marks the program as serving for two windows.
const governWindow = time.Millisecond

// maxDebtWindows bounds what the actors' overspending carries into the
// next windows: a long message pays for itself without stopping the actors
// for long.
const maxDebtWindows = 10

// governor keeps the actors' own work (starting, tracking and stopping tasks,
// not the tasks' functions) from starving the requests the program serves.
// Go's scheduler runs goroutines that are ready before it looks for sockets
// that are: a flood of task starts, which keeps the actors' workers always
// ready, left /ping waiting for the CPU. Within two windows of the start of
// a request (Foreground), every message handled counts against a budget of
// share × GOMAXPROCS of each window, and a worker that finds the budget
// spent sleeps until the next window, leaving the CPU to the requests. What
// a window overspends (a long message, or many workers let in at once) is
// carried into the next ones, up to maxDebtWindows budgets. With no request
// started in the last two windows the actors run unbounded.
//
// The bound is approximate: handling is counted in wall time, a worker that
// wakes may find the window it waited for already spent by others, and the
// fields, each atomic (every mailbox of a cast shares the governor), do not
// change together.
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
	// waits and waited count the workers' waits for a new window and their
	// time, in ns, for the tree.
	waits  atomic.Uint64
	waited atomic.Int64
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
		if elapsed := now - begun; elapsed >= int64(governWindow) {
			if g.begun.CompareAndSwap(begun, now) {
				g.openWindow(elapsed / int64(governWindow))
			}
			continue
		}
		if g.spent.Load() < g.budget.Load() {
			return now
		}
		wait := begun + int64(governWindow) - now
		g.waits.Add(1)
		g.waited.Add(wait)
		time.Sleep(time.Duration(wait))
	}
}

// openWindow starts a window, windows after the last one began: the new
// budget, and what is left of the debt after those windows' budgets paid it
// off, at most maxDebtWindows budgets.
func (g *governor) openWindow(windows int64) {
	budget := int64(g.share * float64(governWindow) * float64(runtime.GOMAXPROCS(0)))
	spent := g.spent.Load()
	var debt int64
	if windows <= maxDebtWindows {
		debt = min(max(spent-windows*g.budget.Load(), 0), maxDebtWindows*budget)
	}
	g.budget.Store(budget)
	g.spent.Add(debt - spent) // keeps what other workers counted meanwhile
}

// node describes the governor for the tree.
func (g *governor) node() GovernorNode {
	return GovernorNode{ActorShare: g.share, Waits: g.waits.Load(), WaitedSeconds: time.Duration(g.waited.Load()).Seconds()}
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
