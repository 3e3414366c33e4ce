package actors

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

// TaskID identifies a tracked task, unique for the life of the process.
type TaskID uint64

// String returns the id in decimal.
func (id TaskID) String() string { return strconv.FormatUint(uint64(id), 10) }

// RestartPolicy decides what follows a failed attempt of a task: given the
// times of the task's failures, oldest first and the latest included, it
// says whether to run the task again and after which delay.
type RestartPolicy func(failures []time.Time) (delay time.Duration, restart bool)

// TaskSpec describes a task to start. It is read-only once sent.
type TaskSpec struct {
	Name     string
	Metadata map[string]any
	// Run is the task's function, which returns its result or fails; nil for
	// a task the program tracks by hand and completes with CompleteTask.
	Run func(ctx context.Context) (any, error)
	// Timeout bounds each attempt; zero means none.
	Timeout time.Duration
	// Heartbeat is how long the function may go without reporting progress
	// before its attempt is cancelled as stuck; zero means no heartbeat.
	Heartbeat time.Duration
	// Grace is how long a cancelled attempt may take to return before it is
	// abandoned.
	Grace time.Duration
	// Restart decides restarts after failures; nil never restarts.
	Restart RestartPolicy
}

// Origin is what a task keeps of the request that started it.
type Origin struct {
	// Link is the request's span, which each attempt's span links to.
	Link trace.SpanContext
	// Baggage is the request's, which each attempt's context carries
	// (session.id among it).
	Baggage baggage.Baggage
}

// Outcome is how a task ended.
type Outcome uint8

// The outcomes of a task.
const (
	OutcomeNone      Outcome = iota
	OutcomeSucceeded         // its function returned nil
	OutcomeCompleted         // the program completed a hand-tracked task
	OutcomeFailed            // it failed and its restart policy gave up
	OutcomeCancelled         // the program or a shutdown cancelled it
	OutcomeAbandoned         // it was cancelled and ignored it past the grace period
	OutcomeTimedOut          // its last attempt outlived its timeout and no restart followed
)

// String returns the outcome's name as logged.
func (o Outcome) String() string {
	switch o {
	case OutcomeSucceeded:
		return "succeeded"
	case OutcomeCompleted:
		return "completed"
	case OutcomeFailed:
		return "failed"
	case OutcomeCancelled:
		return "cancelled"
	case OutcomeAbandoned:
		return "abandoned"
	case OutcomeTimedOut:
		return "timed_out"
	default:
		return "none"
	}
}

// TaskState is where a live task actor is in its life.
type TaskState uint8

// The states of a task actor, as supervisor.TaskState documents them (with
// the same values).
const (
	StateRunning TaskState = iota
	StateBackingOff
	StateCancelling
	StateAbandoned
	StateStopping
	StateStuck
	StateOver
)

// String returns the state's name as shown in the tree.
func (s TaskState) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateBackingOff:
		return "backing_off"
	case StateCancelling:
		return "cancelling"
	case StateAbandoned:
		return "abandoned"
	case StateStopping:
		return "stopping"
	case StateStuck:
		return "stuck"
	case StateOver:
		return "over"
	default:
		return "unknown"
	}
}

// TaskEntry is a task as the status actor's registry knows it.
type TaskEntry struct {
	ID       TaskID
	Name     string
	Metadata map[string]any
	Started  time.Time
}

// Job is a running task as AsyncTaskInfo reports it.
type Job struct {
	ID       TaskID
	Name     string
	Metadata map[string]any
	Started  time.Time
	Duration time.Duration
}

// TaskInfo is the registry's summary: the count and the jobs in start order.
type TaskInfo struct {
	ActiveCount int
	RunningJobs []Job
}
