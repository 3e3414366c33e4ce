package actors

import (
	"time"
)

// Commands the task supervisor takes.
type (
	// StartTask spawns a task actor and tracks the task; Reply gets its id
	// once the status actor has it (read-your-writes), or ErrDraining.
	StartTask struct {
		Spec *TaskSpec
		// Origin is the request that started the task, nil if unknown.
		Origin *Origin
		Reply  *Request[TaskStart]
	}
	// CompleteTask ends a hand-tracked task; Reply says whether it was one
	// and still tracked.
	CompleteTask struct {
		ID    TaskID
		Reply *Request[bool]
	}
	// CancelTask cancels a task; Reply says whether it was live. A running
	// function's context is cancelled and the task ends when it returns (or
	// is abandoned after its grace period).
	CancelTask struct {
		ID    TaskID
		Reply *Request[bool]
	}
	// Drain makes the task supervisor refuse new tasks from now on.
	Drain struct {
		Reply *Request[struct{}]
	}
	// GetTask asks for one task, live or kept.
	GetTask struct {
		ID    TaskID
		Reply chan<- TaskLookup
	}
	// GetResults asks for the kept outcomes, newest first.
	GetResults struct {
		Reply chan<- []TaskReport
	}
	// CancelAll cancels every live task with the given cause; Reply gets
	// the tasks that were still counted as busy.
	CancelAll struct {
		Cause error
		Reply *Request[Cancelled]
	}
)

// restartDue tells the task supervisor that a task's backoff is over.
type restartDue struct{ ID TaskID }

func (*restartDue) IgnoreDeadLetterLogging() {}

// Commands the status actor takes.
type (
	// TrackTask adds a task to the registry and answers Reply, which the
	// task supervisor has taken, with its id.
	TrackTask struct {
		Entry TaskEntry
		Reply *Request[TaskStart]
	}
	// UntrackTask removes a task from the registry; Reply (optional, taken
	// by the task supervisor) says whether it was there. Removing an absent
	// task changes nothing.
	UntrackTask struct {
		ID    TaskID
		Reply *Request[bool]
	}
	// ForceStatus sets the forced status (StatusUnset clears it) and answers
	// with the resulting ping.
	ForceStatus struct {
		Status Status
		Reply  *Request[Ping]
	}
	// SetCustomSource installs a new custom ping function, identified by
	// Source (nil: none), forgets what the previous one reported and answers
	// with the resulting ping.
	SetCustomSource struct {
		Source any
		Reply  *Request[Ping]
	}
	// ObserveCustom records what the custom ping function Source reported
	// (StatusUnset: it failed) and answers with the resulting ping. A report
	// from a function that has since been replaced is ignored.
	ObserveCustom struct {
		Source any
		Status Status
		Reply  *Request[Ping]
	}
	// HoldBusy counts an open request as busy until ReleaseBusy: /ping says
	// HealthyBusy meanwhile, though the request is no task.
	HoldBusy struct {
		Entry RequestEntry
		Reply *Request[struct{}]
	}
	// ReleaseBusy ends a HoldBusy; releasing a request not held changes
	// nothing.
	ReleaseBusy struct {
		ID uint64
	}
	// Relay runs Answer on the status actor's goroutine, after every message
	// sent to it before: a reply that must not overtake them, as an ended
	// task's outcome must not overtake its untracking.
	Relay struct {
		Answer func()
	}
	// GetTaskInfo answers with the registry's summary.
	GetTaskInfo struct {
		Reply chan<- TaskInfo
	}
	// AwaitIdle is answered (once) as soon as the registry is empty.
	AwaitIdle struct {
		Reply chan<- struct{}
	}
)

// Cancelled answers CancelAll: the tasks that were still counted as busy,
// and the longest cancel grace among them, which bounds how long they may
// take to end or be abandoned.
type Cancelled struct {
	Busy  []TaskNode
	Grace time.Duration
}

// TaskLookup answers GetTask: the task, if it is live or kept.
type TaskLookup struct {
	Report TaskReport
	Found  bool
}

// TaskStart answers a request to start or track a task.
type TaskStart struct {
	ID  TaskID
	Err error
}

// Describe asks an actor for its node in the actor tree.
type Describe struct {
	Reply chan<- Node
}

// Events a task actor sends its parent, the task supervisor.
type (
	// attemptEnded says the task's function returned without failing, or
	// returned after the task was cancelled.
	attemptEnded struct {
		ID      TaskID
		Outcome Outcome
		Value   any // what the function returned, on success
	}
	// attemptFailed says the task's function returned an error or panicked,
	// or outlived its timeout or heartbeat; the task supervisor decides
	// between a restart and the task's end.
	attemptFailed struct {
		ID  TaskID
		Err error // safe to print: errtext.Safe
		// Stack is the goroutine stack of a panic, empty otherwise.
		Stack    []byte
		Panicked bool
		TimedOut bool // cut by its timeout
	}
	// attemptAbandoned says the task's function ignored its cancelled context
	// for longer than the grace period.
	attemptAbandoned struct {
		ID    TaskID
		Cause error // why the attempt was cancelled: its timeout, heartbeat, or the task's cancellation
	}
	// attemptStuck says the task missed its heartbeat and its attempt is
	// being cancelled.
	attemptStuck struct {
		ID TaskID
	}
	// taskProgressed carries the latest progress a task reported.
	taskProgressed struct {
		ID       TaskID
		Progress Progress
	}
)

// runAttempt tells a task actor to run its function again, once the task
// supervisor has decided to restart it; trace is what the attempt's context
// carries for telemetry, nil for nothing.
type runAttempt struct{ trace *attemptTrace }

// Messages a task actor sends itself. Each names its attempt, so that one
// left over from before a restart is ignored. The attempt's goroutine may
// outlive the actor; its last message then goes to dead letters unlogged.
type (
	attemptReturned struct {
		at       *attempt
		value    any
		err      error // safe to print: errtext.Safe
		stack    []byte
		panicked bool
	}
	attemptCancelled struct{ at *attempt }
	graceExpired     struct{ at *attempt }
	heartbeatDue     struct{ at *attempt }
	progressReported struct{ at *attempt }
)

func (*attemptReturned) IgnoreDeadLetterLogging() {}

func (*attemptCancelled) IgnoreDeadLetterLogging() {}

func (*graceExpired) IgnoreDeadLetterLogging() {}

func (*heartbeatDue) IgnoreDeadLetterLogging() {}

func (*progressReported) IgnoreDeadLetterLogging() {}
