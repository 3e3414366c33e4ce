package actors

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// errGoexit is the failure of a task function that called runtime.Goexit.
var errGoexit = errors.New("task function called runtime.Goexit")

// Events a task actor sends its parent, the task supervisor.
type (
	// attemptEnded says the task's function returned without failing, or
	// returned after the task was cancelled.
	attemptEnded struct {
		ID      TaskID
		Outcome Outcome
	}
	// attemptAbandoned says the task's function ignored its cancelled context
	// for longer than the grace period.
	attemptAbandoned struct {
		ID TaskID
	}
)

// Messages a task actor sends itself. Each names its attempt, so that one
// left over from before a restart is ignored. The attempt's goroutine may
// outlive the actor; its last message then goes to dead letters unlogged.
type (
	attemptReturned struct {
		at    *attempt
		err   error
		stack []byte
	}
	attemptCancelled struct{ at *attempt }
	graceExpired     struct{ at *attempt }
)

func (*attemptReturned) IgnoreDeadLetterLogging()  {}
func (*attemptCancelled) IgnoreDeadLetterLogging() {}
func (*graceExpired) IgnoreDeadLetterLogging()     {}

// attempt is one run of a task's function, owned by the task actor instance
// that started it.
type attempt struct {
	ctx       context.Context
	cancel    context.CancelFunc
	stopWatch func() bool // stops the context.AfterFunc that reports cancellation
	grace     *time.Timer // set once the context is cancelled
	returned  bool
}

func (at *attempt) release() {
	at.stopWatch()
	at.cancel()
	if at.grace != nil {
		at.grace.Stop()
	}
}

// taskActor runs one task: for each attempt (a restart makes a new instance)
// it runs the function in a goroutine it owns and turns the outcome into a
// message to its parent, or into a failure that its parent supervises.
type taskActor struct {
	id   TaskID
	spec *TaskSpec
	// taskCtx is cancelled when the task as a whole is cancelled; each
	// attempt's context derives from it.
	taskCtx context.Context
	// running counts attempt goroutines; the supervisor waits for it at shutdown.
	running *sync.WaitGroup
	cur     *attempt
}

// Receive handles one message.
func (a *taskActor) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		switch {
		case a.spec.Run == nil:
		case a.taskCtx.Err() != nil: // cancelled before it ever ran
			c.Send(c.Parent(), &attemptEnded{ID: a.id, Outcome: OutcomeCancelled})
		default:
			a.start(c)
		}
	case *attemptReturned:
		if m.at == a.cur {
			a.returned(c, m)
		}
	case *attemptCancelled:
		if m.at == a.cur && !m.at.returned {
			self, root := c.Self(), c.ActorSystem().Root
			m.at.grace = time.AfterFunc(a.spec.Grace, func() { root.Send(self, &graceExpired{at: m.at}) })
		}
	case *graceExpired:
		if m.at == a.cur && !m.at.returned {
			c.Send(c.Parent(), &attemptAbandoned{ID: a.id})
		}
	case *actor.Restarting, *actor.Stopping:
		if a.cur != nil {
			a.cur.release()
		}
	}
}

func (a *taskActor) start(c actor.Context) {
	var ctx context.Context
	var cancel context.CancelFunc
	if a.spec.Timeout > 0 {
		ctx, cancel = context.WithTimeout(a.taskCtx, a.spec.Timeout)
	} else {
		ctx, cancel = context.WithCancel(a.taskCtx)
	}
	self, root := c.Self(), c.ActorSystem().Root
	at := &attempt{ctx: ctx, cancel: cancel}
	at.stopWatch = context.AfterFunc(ctx, func() { root.Send(self, &attemptCancelled{at: at}) })
	a.cur = at

	a.running.Add(1)
	go func() {
		defer a.running.Done()
		res := &attemptReturned{at: at}
		finished := false
		// Deferred so that it also reports a panic or a runtime.Goexit.
		defer func() {
			if r := recover(); r != nil {
				res.err, res.stack = &PanicError{Value: r}, debug.Stack()
			} else if !finished {
				res.err = errGoexit
			}
			root.Send(self, res)
		}()
		res.err = a.spec.Run(ctx)
		finished = true
	}()
}

// returned turns the attempt's result into an outcome for the parent, or into
// a failure (a panic with *TaskFailure) that the parent's supervision decides.
func (a *taskActor) returned(c actor.Context, m *attemptReturned) {
	at := m.at
	at.returned = true
	timedOut := errors.Is(at.ctx.Err(), context.DeadlineExceeded)
	at.release()
	switch {
	case a.taskCtx.Err() != nil:
		c.Send(c.Parent(), &attemptEnded{ID: a.id, Outcome: OutcomeCancelled})
	case m.err == nil:
		c.Send(c.Parent(), &attemptEnded{ID: a.id, Outcome: OutcomeSucceeded})
	case timedOut:
		panic(&TaskFailure{Err: fmt.Errorf("%w after %s: %w", ErrTimeout, a.spec.Timeout, m.err)})
	default:
		panic(&TaskFailure{Err: m.err, Stack: m.stack})
	}
}
