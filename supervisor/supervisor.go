package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentvisor/agentvisor/actors"
)

// Errors the supervisor returns; match them with errors.Is.
var (
	// ErrShuttingDown refuses work once Shutdown has begun.
	ErrShuttingDown = errors.New("supervisor is shutting down")
	// ErrUnavailable is an actor that did not answer within the request bound.
	ErrUnavailable = errors.New("supervisor actor did not answer")
	// ErrInvalidStatus is a status other than Healthy or HealthyBusy.
	ErrInvalidStatus = errors.New("invalid status")
	// ErrInvalidOption is a task option or configuration value out of range.
	ErrInvalidOption = errors.New("invalid option")
	// ErrCancelled is the cause of a task's context cancelled by Cancel.
	ErrCancelled = actors.ErrCancelled
	// ErrTimeout is the failure of a task attempt that outlived its timeout.
	ErrTimeout = actors.ErrTimeout
	// ErrHeartbeatMissed is the failure of a task attempt that reported no
	// progress within its heartbeat timeout (WithHeartbeat).
	ErrHeartbeatMissed = actors.ErrHeartbeatMissed
	// ErrTooManyTasks refuses a task beyond Config.Limits.
	ErrTooManyTasks = actors.ErrTooManyTasks
	// ErrNotATask is a Progress call with a context that is not a task's.
	ErrNotATask = actors.ErrNotATask
	// ErrPanicked matches (errors.Is) the failure of a task function that
	// panicked; its message has the panic's value.
	ErrPanicked = actors.ErrPanicked
	// ErrTasksCut is returned by Shutdown when tasks were still running at
	// its deadline and had to be cancelled.
	ErrTasksCut = errors.New("tasks cut by shutdown")
)

// Config configures a Supervisor. The zero value is usable.
type Config struct {
	// Logger receives the supervisor's logs and protoactor's (under
	// component=protoactor, warnings and above unless Logger is at debug
	// level). The zero value logs nothing.
	Logger zerolog.Logger
	// PingFuncTimeout bounds a custom ping function; past it the automatic
	// status is reported. Default 1s.
	PingFuncTimeout time.Duration
	// CancelGrace is how long a cancelled task function may take to return
	// before it is abandoned (no longer counted as busy). A task can override
	// it with WithCancelGrace. Default 2s.
	CancelGrace time.Duration
	// RequestTimeout bounds the wait for an actor's answer in calls that take
	// no context (they wait between it and twice it). Default 10s; actors
	// answer in microseconds.
	RequestTimeout time.Duration
	// Limits bounds the tasks counted as busy at once, in all
	// (Limits.MaxTasks) and per task name (Limits.MaxPerName); Go and
	// AddAsyncTask beyond a limit are refused at once with ErrTooManyTasks.
	// Abandoned tasks no longer count. The zero value sets no limit.
	Limits Limits
	// ResultRetention is how long Task still reports a task once it ended:
	// its outcome, result or error. Default 1h.
	ResultRetention time.Duration
	// MaxResults is the most ended tasks kept for Task, the oldest dropped
	// first; negative keeps none. Default 10,000. A kept outcome costs
	// about 180 bytes of heap (make bench measures it), plus its result and
	// metadata: under 2 MB at the default.
	MaxResults int
	// TracerProvider gets a span per attempt of every task, named "task"
	// and the task's name, with task.id, task.name, task.attempt, the
	// error of a failed one, a task.restart event on an attempt a restart
	// follows, and the task.outcome on the attempt the task ended in (a
	// task that ends while waiting for a restart, cancelled or drained, has
	// its outcome in the metrics and the log only); StartedBy links it to
	// the request that started the task. The function's context carries
	// its attempt's span. Nil is the global provider (otel).
	TracerProvider trace.TracerProvider
	// MeterProvider gets the counters agentvisor.task.started, .ended (by
	// task.outcome too) and .restarts, each by task.name; and
	// MetricTasksActive, MetricPingStatus and MetricPanics, observed at
	// each collection. Nil is the global provider (otel). The providers
	// must not block (the SDK's batching span processor does not): the task
	// supervisor calls them; one that panics is logged and ignored.
	MeterProvider metric.MeterProvider
}

func (c Config) withDefaults() (Config, error) {
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"PingFuncTimeout", &c.PingFuncTimeout, time.Second},
		{"CancelGrace", &c.CancelGrace, 2 * time.Second},
		{"RequestTimeout", &c.RequestTimeout, 10 * time.Second},
		{"ResultRetention", &c.ResultRetention, time.Hour},
	} {
		switch {
		case *d.v < 0:
			return c, fmt.Errorf("config %s %s: %w", d.name, *d.v, ErrInvalidOption)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if c.MaxResults == 0 {
		c.MaxResults = 10_000
	}
	if c.Limits.MaxTasks < 0 {
		return c, fmt.Errorf("config Limits.MaxTasks %d: %w", c.Limits.MaxTasks, ErrInvalidOption)
	}
	for name, n := range c.Limits.MaxPerName {
		if n < 1 {
			return c, fmt.Errorf("config Limits.MaxPerName[%q] %d: %w", name, n, ErrInvalidOption)
		}
	}
	return c, nil
}

// Supervisor runs the actor system behind the ping status: the status actor,
// the task supervisor and one actor per tracked task. Its methods are safe
// for concurrent use.
type Supervisor struct {
	cfg    Config
	log    zerolog.Logger
	system *actor.ActorSystem
	cast   *actors.Cast

	// pingFunc is the custom ping function, nil if none; SetPingFunc
	// changes it under setPing.
	pingFunc atomic.Pointer[pingSource]
	setPing  sync.Mutex
	probe    probe
	panics   panicCounts
	bound    bound // the deadline of calls without a context

	lastRequestID atomic.Uint64 // ids of the requests held as busy (HoldBusy)
	// unobserve stops the metrics observed from the supervisor.
	unobserve func() error

	closing      atomic.Bool   // set when Shutdown begins: new tasks are refused
	stopped      chan struct{} // closed once the actors are stopped
	shutdownOnce sync.Once
	shutdownErr  error
}

// New starts a supervisor: its actor system, status actor and task
// supervisor. Stop it with Shutdown.
func New(cfg Config) (*Supervisor, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		cfg:     cfg,
		log:     cfg.Logger.With().Str("component", "supervisor").Logger(),
		stopped: make(chan struct{}),
	}
	s.probe.timeout = cfg.PingFuncTimeout
	s.bound.period = cfg.RequestTimeout
	tp, mp := cfg.providers()
	tasks, err := actors.NewTelemetry(tp, mp, s.log)
	if err != nil {
		return nil, fmt.Errorf("start supervisor: %w", err)
	}
	s.system = actor.NewActorSystem(actor.WithLoggerFactory(protoactorLogger(cfg.Logger)))
	opts := actors.Options{Limits: cfg.Limits.actors(), Results: actors.ResultOptions{Retention: cfg.ResultRetention, Max: cfg.MaxResults}, Telemetry: tasks}
	if s.cast, err = actors.Spawn(s.system, opts, cfg.Logger); err != nil {
		s.system.Shutdown()
		return nil, fmt.Errorf("start supervisor: %w", err)
	}
	if s.unobserve, err = s.observe(mp); err != nil {
		err = errors.Join(fmt.Errorf("start supervisor: %w", err), s.cast.Stop())
		s.system.Shutdown()
		return nil, err
	}
	return s, nil
}

// protoactorLogger routes protoactor's slog output into zerolog. Its
// info-level lines (one per actor failure, already logged by us with more
// context) are kept for debug level.
func protoactorLogger(l zerolog.Logger) func(*actor.ActorSystem) *slog.Logger {
	l = l.With().Str("component", "protoactor").Logger()
	if l.GetLevel() > zerolog.DebugLevel {
		l = l.Level(max(l.GetLevel(), zerolog.WarnLevel))
	}
	return func(*actor.ActorSystem) *slog.Logger { return slog.New(zerolog.NewSlogHandler(l)) }
}

// ask sends a query (a message that changes nothing) to pid and waits for
// the answer on reply, or for ctx.
func ask[T any](ctx context.Context, s *Supervisor, pid *actor.PID, msg any, reply <-chan T) (T, error) {
	return await(ctx, s, pid, msg, reply, nil)
}

// call is ask for methods that take no context: it waits at least
// Config.RequestTimeout and at most twice that, long enough for any live
// actor to answer.
func call[T any](s *Supervisor, pid *actor.PID, msg any, reply <-chan T) (T, error) {
	return await(context.Background(), s, pid, msg, reply, s.bound.deadline())
}

func await[T any](ctx context.Context, s *Supervisor, pid *actor.PID, msg any, reply <-chan T, bound <-chan struct{}) (T, error) {
	var zero T
	if err := s.send(pid, msg); err != nil {
		return zero, err
	}
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-bound:
		return zero, s.unavailable(pid, msg)
	case <-s.stopped:
		return zero, ErrShuttingDown
	}
}

// command sends a command (a message with an effect) to pid and waits for
// its answer. It gives up after Config.RequestTimeout, like call, but only
// while no actor has taken the command: one that has takes effect, so the
// caller waits for its answer rather than report a failure that is not one.
func command[T any](s *Supervisor, pid *actor.PID, msg any, req *actors.Request[T]) (T, error) {
	var zero T
	if err := s.send(pid, msg); err != nil {
		return zero, err
	}
	select {
	case r := <-req.Answered():
		return r, nil
	case <-s.bound.deadline():
		if req.Withdraw() {
			return zero, s.unavailable(pid, msg)
		}
	case <-s.stopped:
		if req.Withdraw() {
			return zero, ErrShuttingDown
		}
	}
	select {
	case r := <-req.Answered():
		return r, nil
	case <-s.stopped: // the actors stopped before answering
		select {
		case r := <-req.Answered():
			return r, nil
		default:
			return zero, ErrShuttingDown
		}
	}
}

// send delivers msg to pid, unless the actors have stopped.
func (s *Supervisor) send(pid *actor.PID, msg any) error {
	select {
	case <-s.stopped:
		return ErrShuttingDown
	default:
		s.system.Root.Send(pid, msg)
		return nil
	}
}

func (s *Supervisor) unavailable(pid *actor.PID, msg any) error {
	s.log.Error().Str("actor", pid.Id).Str("message_type", fmt.Sprintf("%T", msg)).Msg("actor did not answer in time")
	return fmt.Errorf("%s: %w", pid.Id, ErrUnavailable)
}

// WaitIdle returns once no task is tracked, or with ctx's error.
func (s *Supervisor) WaitIdle(ctx context.Context) error {
	r := make(chan struct{}, 1)
	_, err := ask(ctx, s, s.cast.StatusPID, &actors.AwaitIdle{Reply: r}, r)
	return err
}

// Shutdown drains and stops the supervisor. New tasks are refused with
// ErrShuttingDown at once; running tasks have until ctx is done to finish,
// then they are cancelled and get their cancel grace (Config.CancelGrace, or
// a longer WithCancelGrace) to return before they are abandoned. Every task that did not finish is logged, the actors are
// stopped and the actor system shut down. It returns ErrTasksCut (wrapped)
// if tasks had to be cancelled. Calling it again returns the first result.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Supervisor) shutdown(ctx context.Context) error {
	s.closing.Store(true) // refuses new tasks here, whatever the Drain below
	drained := actors.NewRequest[struct{}]()
	if _, err := command(s, s.cast.TasksPID, &actors.Drain{Reply: drained}, drained); err != nil {
		s.log.Error().Err(err).Msg("task supervisor did not take the drain; draining all the same")
	}
	grace, err := s.cut(ctx)
	if stopErr := s.cast.Stop(); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	s.system.Shutdown()
	close(s.stopped)
	s.bound.stop()
	s.waitGoroutines(grace)
	return errors.Join(err, s.unobserve())
}

// cut waits for the tasks until ctx is done, then cancels what is left,
// logs it and waits for it to end or be abandoned: the longest cancel grace
// among the tasks cut, which it returns.
func (s *Supervisor) cut(ctx context.Context) (time.Duration, error) {
	if s.WaitIdle(ctx) == nil {
		return s.cfg.CancelGrace, nil
	}
	r := actors.NewRequest[actors.Cancelled]()
	cancelled, err := command(s, s.cast.TasksPID, &actors.CancelAll{Cause: ErrShuttingDown, Reply: r}, r)
	if err != nil {
		return s.cfg.CancelGrace, err
	}
	grace := max(s.cfg.CancelGrace, cancelled.Grace)
	busy := cancelled.Busy
	for _, t := range busy {
		s.log.Warn().Uint64("task_id", uint64(t.ID)).Str("task_name", t.Name).Interface("metadata", t.Metadata).
			Dur("ran", time.Since(t.Started)).Msg("task did not finish before shutdown; cancelled")
	}
	graceCtx, cancel := context.WithTimeout(context.Background(), grace+time.Second)
	defer cancel()
	if err := s.WaitIdle(graceCtx); err != nil {
		s.log.Error().Err(err).Msg("tasks still tracked after the cancel grace")
	}
	return grace, fmt.Errorf("shutdown: %s: %w", plural(len(busy), "task"), ErrTasksCut)
}

// plural is "1 task", "2 tasks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// waitGoroutines waits, up to grace, for the goroutines of task
// functions and ping functions; one that ignores cancellation cannot be
// stopped by Go, so it is logged and left.
func (s *Supervisor) waitGoroutines(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		s.cast.Running.Wait()
		s.probe.running.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Error().Msg("task or ping functions still running after shutdown: they ignore cancellation and Go cannot stop them")
	}
}
