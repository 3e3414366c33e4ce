package actors

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// Cast is the running set of top-level actors: the status actor and the task
// supervisor.
type Cast struct {
	Status    *StatusActor
	StatusPID *actor.PID
	TasksPID  *actor.PID
	// Running counts the goroutines of task attempts; a function that ignores
	// cancellation keeps its goroutine, which Go cannot kill.
	Running *sync.WaitGroup
	// Counters are the task supervisor's counts, for anyone to read.
	Counters *Counters
	System   *actor.ActorSystem
	// dispatchers run the actors' mailboxes; closed by Stop.
	dispatchers []*poolDispatcher
}

// Counters are what the task supervisor counts for readers on other
// goroutines (the metrics, Panics).
type Counters struct {
	// Panics counts the task functions that panicked.
	Panics atomic.Uint64
	// Active counts the tasks counted as busy.
	Active atomic.Int64
}

// Options configures a cast.
type Options struct {
	// Limits bounds the tasks counted as busy at once.
	Limits Limits
	// Results bounds the outcomes of ended tasks kept for GetTask.
	Results ResultOptions
	// Telemetry reports the tasks to OpenTelemetry; nil reports nothing.
	Telemetry *Telemetry
}

// Spawn starts the status actor and the task supervisor in system.
func Spawn(system *actor.ActorSystem, opts Options, log zerolog.Logger) (*Cast, error) {
	c := &Cast{System: system, Running: &sync.WaitGroup{}, Counters: &Counters{}}
	if opts.Telemetry == nil {
		opts.Telemetry = noTelemetry()
	}
	statusLog := log.With().Str("component", "status").Logger()
	c.Status = NewStatusActor(statusLog)
	var err error
	if c.StatusPID, err = c.spawnTopLevel("status", c.Status); err != nil {
		c.closeDispatchers()
		return nil, err
	}
	tasksLog := log.With().Str("component", "tasks").Logger()
	tasks := newTaskDispatcher()
	c.dispatchers = append(c.dispatchers, tasks)
	// A task actor gets a handful of messages in its life: the lock-free
	// mailbox is two allocations cheaper to make than the default one, whose
	// ring buffer pays off only under load.
	taskOpts := []actor.PropsOption{actor.WithDispatcher(tasks), actor.WithMailbox(actor.UnboundedLockfree())}
	if c.TasksPID, err = c.spawnTopLevel("tasks", NewTaskSupervisor(c.StatusPID, opts.Limits, opts.Results, taskOpts, c.Running, c.Counters, opts.Telemetry, tasksLog)); err != nil {
		_ = system.Root.StopFuture(c.StatusPID).Wait()
		c.closeDispatchers()
		return nil, err
	}
	return c, nil
}

// Stop stops the task supervisor (and with it every task actor), then the
// status actor, and waits for both.
func (c *Cast) Stop() error {
	if err := c.System.Root.StopFuture(c.TasksPID).Wait(); err != nil {
		return fmt.Errorf("stop task supervisor: %w", err)
	}
	if err := c.System.Root.StopFuture(c.StatusPID).Wait(); err != nil {
		return fmt.Errorf("stop status actor: %w", err)
	}
	c.closeDispatchers()
	return nil
}

func (c *Cast) closeDispatchers() {
	for _, d := range c.dispatchers {
		d.Close()
	}
}

// resumeOnFailure keeps a top-level actor and its state (and the task actors
// under the task supervisor) through a panic in its Receive: the message that
// caused it is dropped and logged by logPanic.
var resumeOnFailure = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.ResumeDirective })

// spawnTopLevel spawns a single instance under the resuming guardian, on a
// goroutine of its own.
func (c *Cast) spawnTopLevel(name string, a actor.Actor) (*actor.PID, error) {
	d := newPoolDispatcher(1, 1)
	c.dispatchers = append(c.dispatchers, d)
	props := actor.PropsFromProducer(func() actor.Actor { return a }, actor.WithDispatcher(d), actor.WithMailbox(actor.Unbounded()),
		actor.WithGuardian(resumeOnFailure))
	pid, err := c.System.Root.SpawnNamed(props, name)
	if err != nil {
		return nil, fmt.Errorf("spawn %s actor: %w", name, err)
	}
	return pid, nil
}
