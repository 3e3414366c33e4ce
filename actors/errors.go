package actors

import (
	"errors"
	"fmt"
)

// Errors the actors answer with.
var (
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
	// ErrPanicked matches (errors.Is) the failure of a task function that
	// panicked, a *PanicError.
	ErrPanicked = errors.New("task function panicked")
)

// PanicError is the error a panicking task function fails with.
type PanicError struct{ Value any }

// Error describes the panic.
func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Is makes a panic match ErrPanicked.
func (p *PanicError) Is(target error) bool { return target == ErrPanicked }

// errAbandoned is why an abandoned task ended.
var errAbandoned = errors.New("task function ignored its cancellation past the grace period")

// errGoexit is the failure of a task function that called runtime.Goexit.
var errGoexit = errors.New("task function called runtime.Goexit")
