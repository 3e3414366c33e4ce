package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentvisor/agentvisor/internal/errtext"
)

// attempt is one run of a task's function. The task actor instance that
// started it owns every field but the two atomics, which the function's
// goroutine writes through ReportProgress.
type attempt struct {
	ctx       context.Context
	cancel    context.CancelCauseFunc // cancels the attempt with a cause
	stopTimer context.CancelFunc      // releases the timeout, if any
	stopWatch func() bool             // stops the context.AfterFunc that reports cancellation
	grace     *time.Timer             // set once the context is cancelled
	heartbeat *time.Timer             // set when the task has a heartbeat timeout
	lastBeat  time.Time
	returned  bool

	root *actor.RootContext
	self *actor.PID
	// latest is the newest progress report; pending is true while a
	// progressReported message is on its way, so reports coalesce.
	latest  atomic.Pointer[Progress]
	pending atomic.Bool
}

func (at *attempt) release() {
	at.stopWatch()
	at.stopTimer()
	at.cancel(nil)
	for _, t := range []*time.Timer{at.grace, at.heartbeat} {
		if t != nil {
			t.Stop()
		}
	}
}

// send delivers msg to the attempt's task actor from any goroutine.
func (at *attempt) send(msg any) { at.root.Send(at.self, msg) }

// attemptKey is the context key under which a task function finds its attempt.
type attemptKey struct{}

// ReportProgress records, from inside a task's function, how far the task
// has come; every report is also a heartbeat. ctx is the context the task's
// function was given. Reports coalesce: the tree shows the latest.
func ReportProgress(ctx context.Context, fraction float64, note string) error {
	at, ok := ctx.Value(attemptKey{}).(*attempt)
	if !ok {
		return ErrNotATask
	}
	if !(fraction >= 0 && fraction <= 1) {
		return fmt.Errorf("progress %v: not in [0, 1]: %w", fraction, ErrInvalidProgress)
	}
	at.latest.Store(&Progress{Fraction: fraction, Note: note, At: time.Now()})
	if !at.pending.Swap(true) {
		at.send(&progressReported{at: at})
	}
	return nil
}

// taskActor runs one task: for each attempt it runs the function in a
// goroutine it owns and reports the attempt's outcome to its parent by
// message; the parent decides restarts and sends runAttempt.
type taskActor struct {
	id   TaskID
	spec *TaskSpec
	// taskCtx is cancelled when the task as a whole is cancelled; each
	// attempt's context derives from it.
	taskCtx context.Context
	// running counts attempt goroutines; the supervisor waits for it at shutdown.
	running *sync.WaitGroup
	log     *zerolog.Logger // the task supervisor's, for panics of Receive itself
	cur     *attempt
	// trace is what the next attempt's context carries, from the task
	// supervisor: its span, so that spans the function starts are its
	// children, and the baggage of the request that started the task.
	trace *attemptTrace
}

// Receive handles one message.
func (a *taskActor) Receive(c actor.Context) {
	defer logPanic(a.log, c.Self(), c.Message())
	switch m := c.Message().(type) {
	case *actor.Started:
		if a.spec.Run != nil {
			a.run(c)
		}
	case *runAttempt:
		a.trace = m.trace
		a.run(c)
	case *attemptReturned:
		if a.live(m.at) {
			a.returned(c, m)
		}
	case *attemptCancelled:
		if a.live(m.at) {
			m.at.grace = time.AfterFunc(a.spec.Grace, func() { m.at.send(&graceExpired{at: m.at}) })
		}
	case *graceExpired:
		if a.live(m.at) {
			c.Send(c.Parent(), &attemptAbandoned{ID: a.id, Cause: context.Cause(m.at.ctx)})
		}
	case *progressReported:
		if a.live(m.at) {
			m.at.pending.Store(false)
			p := m.at.latest.Load()
			m.at.lastBeat = p.At
			c.Send(c.Parent(), &taskProgressed{ID: a.id, Progress: *p})
		}
	case *heartbeatDue:
		if a.live(m.at) {
			a.checkHeartbeat(c, m.at)
		}
	case *actor.Stopping:
		if a.cur != nil {
			a.cur.release()
		}
	}
}

// live reports whether at is this instance's attempt and still running.
func (a *taskActor) live(at *attempt) bool { return at == a.cur && !at.returned }

// run starts an attempt, unless the task was cancelled before it could.
func (a *taskActor) run(c actor.Context) {
	if a.taskCtx.Err() != nil {
		c.Send(c.Parent(), &attemptEnded{ID: a.id, Outcome: OutcomeCancelled})
		return
	}
	a.start(c)
}

func (a *taskActor) start(c actor.Context) {
	base, cancel := context.WithCancelCause(a.traced(a.taskCtx))
	ctx, stopTimer := base, context.CancelFunc(func() {})
	if a.spec.Timeout > 0 {
		ctx, stopTimer = context.WithTimeoutCause(base, a.spec.Timeout, ErrTimeout)
	}
	at := &attempt{cancel: cancel, stopTimer: stopTimer, root: c.ActorSystem().Root, self: c.Self(), lastBeat: time.Now()}
	at.ctx = context.WithValue(ctx, attemptKey{}, at)
	at.stopWatch = context.AfterFunc(ctx, func() { at.send(&attemptCancelled{at: at}) })
	if a.spec.Heartbeat > 0 {
		at.heartbeat = time.AfterFunc(a.spec.Heartbeat, func() { at.send(&heartbeatDue{at: at}) })
	}
	a.cur = at

	a.running.Add(1)
	go func() {
		defer a.running.Done()
		res := &attemptReturned{at: at}
		finished := false
		// Deferred so that it also reports a panic or a runtime.Goexit.
		defer func() {
			if r := recover(); r != nil {
				res.err, res.stack, res.panicked = &PanicError{Value: r}, debug.Stack(), true
			} else if !finished {
				res.err = errGoexit
			}
			at.send(res)
		}()
		// Safe here, on the task's own goroutine: a typed nil whose Error
		// panics must not reach a logger or the actor system.
		value, err := a.spec.Run(at.ctx)
		res.value, res.err = value, errtext.Safe(err)
		finished = true
	}()
}

// traced is ctx with what telemetry needs inside the task's function: the
// attempt's span, if real, and the baggage of the request that started the
// task.
func (a *taskActor) traced(ctx context.Context) context.Context {
	if a.trace == nil {
		return ctx
	}
	if a.trace.span != nil {
		ctx = trace.ContextWithSpan(ctx, a.trace.span)
	}
	if a.trace.baggage.Len() > 0 {
		ctx = baggage.ContextWithBaggage(ctx, a.trace.baggage)
	}
	return ctx
}

// checkHeartbeat re-arms the heartbeat timer if a beat came since it was
// set, else cancels the stuck attempt: when the function returns, the
// attempt fails with ErrHeartbeatMissed and the restart policy decides.
func (a *taskActor) checkHeartbeat(c actor.Context, at *attempt) {
	if quiet := time.Since(at.lastBeat); quiet < a.spec.Heartbeat {
		at.heartbeat.Reset(a.spec.Heartbeat - quiet)
		return
	}
	if at.ctx.Err() == nil {
		at.cancel(ErrHeartbeatMissed)
		c.Send(c.Parent(), &attemptStuck{ID: a.id})
	}
}

// returned reports the attempt's outcome to the parent. An attempt cut by
// its timeout or heartbeat fails whatever its function returned: a function
// that honours its context returns nil or ctx.Err() alike.
func (a *taskActor) returned(c actor.Context, m *attemptReturned) {
	at := m.at
	at.returned = true
	cause := context.Cause(at.ctx) // before release, which cancels it
	at.release()
	fail := &attemptFailed{ID: a.id, Err: m.err, Stack: m.stack, Panicked: m.panicked}
	switch {
	case a.taskCtx.Err() != nil:
		c.Send(c.Parent(), &attemptEnded{ID: a.id, Outcome: OutcomeCancelled})
		return
	case errors.Is(cause, ErrTimeout):
		fail.Err, fail.TimedOut = cutError(fmt.Errorf("%w after %s", ErrTimeout, a.spec.Timeout), m.err), true
	case errors.Is(cause, ErrHeartbeatMissed):
		fail.Err = cutError(fmt.Errorf("%w (none for %s)", ErrHeartbeatMissed, a.spec.Heartbeat), m.err)
	case m.err == nil:
		c.Send(c.Parent(), &attemptEnded{ID: a.id, Outcome: OutcomeSucceeded, Value: m.value})
		return
	}
	c.Send(c.Parent(), fail)
}

// cutError is the failure of an attempt cut short: why, and what its
// function returned, if anything.
func cutError(why, returned error) error {
	if returned == nil {
		return why
	}
	return fmt.Errorf("%w: %w", why, returned)
}
