package actors

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Errors the actors answer with.
var (
	// ErrInvalidStatus is a status other than Healthy or HealthyBusy.
	ErrInvalidStatus = errors.New("invalid status")
	// ErrDraining refuses a new task once the task supervisor drains.
	ErrDraining = errors.New("draining: no new tasks")
	// ErrCancelled is the cause of a task cancelled by the program.
	ErrCancelled = errors.New("task cancelled")
	// ErrTimeout is the failure of an attempt that outlived its timeout.
	ErrTimeout = errors.New("task timed out")
	// ErrHeartbeatMissed is the failure of an attempt that reported no
	// progress within its heartbeat timeout.
	ErrHeartbeatMissed = errors.New("task missed its heartbeat")
	// ErrNotATask is a progress report from outside a task's function.
	ErrNotATask = errors.New("not a task's context")
	// ErrInvalidProgress is a progress fraction outside [0, 1].
	ErrInvalidProgress = errors.New("invalid progress")
	// ErrTooManyTasks refuses a task beyond a concurrency limit.
	ErrTooManyTasks = errors.New("too many tasks")
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
	// Run is the task's function; nil for a task the program tracks by hand
	// and completes with CompleteTask.
	Run func(ctx context.Context) error
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
	default:
		return "none"
	}
}

// TaskState is where a live task actor is in its life.
type TaskState uint8

// The states of a task actor.
const (
	StateRunning    TaskState = iota // its function runs, or it waits to be completed
	StateBackingOff                  // it failed and waits to be restarted
	StateCancelling                  // its context is cancelled, its function has not returned yet
	StateAbandoned                   // it ignored cancellation; no longer counted as busy
	StateStopping                    // it is over and its actor is stopping
	StateStuck                       // it missed its heartbeat; its context is cancelled
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
	default:
		return "unknown"
	}
}

// MarshalText encodes the state's name.
func (s TaskState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

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
	Started  time.Time
	Duration time.Duration
}

// TaskInfo is the registry's summary: the count and the jobs in start order.
type TaskInfo struct {
	ActiveCount int
	RunningJobs []Job
}

// PanicError is the error a panicking task function fails with.
type PanicError struct{ Value any }

// Error describes the panic.
func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }
