package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/agentvisor/agentvisor/actors"
)

// TaskOption configures one task started with Go: WithTimeout,
// WithCancelGrace, WithHeartbeat, WithRestart.
type TaskOption struct {
	apply func(*actors.StartTask) error
}

// WithTimeout cancels each attempt's context after d; an attempt that
// outlives it fails with ErrTimeout, whatever its function then returns (nil
// included), and its restart policy decides.
func WithTimeout(d time.Duration) TaskOption {
	return TaskOption{func(start *actors.StartTask) error {
		if d <= 0 {
			return fmt.Errorf("timeout %s: %w", d, ErrInvalidOption)
		}
		start.Spec.Timeout = d
		return nil
	}}
}

// WithCancelGrace sets how long the function may take to return once its
// context is cancelled before the task is abandoned (Config.CancelGrace by
// default).
func WithCancelGrace(d time.Duration) TaskOption {
	return TaskOption{func(start *actors.StartTask) error {
		if d <= 0 {
			return fmt.Errorf("cancel grace %s: %w", d, ErrInvalidOption)
		}
		start.Spec.Grace = d
		return nil
	}}
}

// WithHeartbeat makes the task's function report progress (Progress) at
// least every d: an attempt silent for longer is stuck, its context is
// cancelled, and when the function returns (nil included) the attempt fails
// with ErrHeartbeatMissed, so its restart policy decides between a restart and
// the end of the task. A function that ignores the cancellation is abandoned
// after its cancel grace.
func WithHeartbeat(d time.Duration) TaskOption {
	return TaskOption{func(start *actors.StartTask) error {
		if d <= 0 {
			return fmt.Errorf("heartbeat %s: %w", d, ErrInvalidOption)
		}
		start.Spec.Heartbeat = d
		return nil
	}}
}

// Progress reports, from inside a task's function, the fraction of the work
// done (in [0, 1]) and a note; ctx is the context the function was given.
// Each report is also a heartbeat (WithHeartbeat). The tree shows the latest.
// It returns ErrNotATask for any other context.
func Progress(ctx context.Context, fraction float64, note string) error {
	err := actors.ReportProgress(ctx, fraction, note)
	if errors.Is(err, actors.ErrInvalidProgress) {
		err = fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return err
}

// WithRestart restarts the task after a failure (a returned error, a panic,
// a timeout) as p says. Without it a task is never restarted.
// The option may be shared by many tasks and goroutines: the policy is
// checked and completed once, and then only read.
func WithRestart(p RestartPolicy) TaskOption {
	err := p.validate()
	policy := p.withDefaults()
	return TaskOption{func(start *actors.StartTask) error {
		if err != nil {
			return err
		}
		start.Spec.Restart = policy.next
		return nil
	}}
}

// RestartPolicy restarts a failed task at most MaxRestarts times within
// Window, waiting an exponential backoff between InitialBackoff and
// MaxBackoff, spread by Jitter.
type RestartPolicy struct {
	// MaxRestarts is how many restarts are allowed within Window, at most
	// 999 (a task keeps the times of its latest 1,000 failures); the next
	// failure stops the task for good.
	MaxRestarts int
	// Window is how far back failures count; zero counts the task's whole life.
	Window time.Duration
	// InitialBackoff is the delay before the first restart (default 100ms);
	// each further failure within Window doubles it.
	InitialBackoff time.Duration
	// MaxBackoff caps the delay (default 30s).
	MaxBackoff time.Duration
	// Jitter spreads each delay uniformly by up to this fraction of it, in
	// [0, 1]: 0.2 gives delays from 80% to 120%.
	Jitter float64
}

func (p RestartPolicy) validate() error {
	switch {
	case p.MaxRestarts < 0, p.Window < 0, p.InitialBackoff < 0, p.MaxBackoff < 0:
		return fmt.Errorf("restart policy %+v: negative value: %w", p, ErrInvalidOption)
	case p.MaxRestarts >= actors.MaxFailureHistory:
		return fmt.Errorf("restart policy max restarts %d: at most %d: %w", p.MaxRestarts, actors.MaxFailureHistory-1, ErrInvalidOption)
	case p.Jitter < 0 || p.Jitter > 1 || math.IsNaN(p.Jitter):
		return fmt.Errorf("restart policy jitter %v: not in [0, 1]: %w", p.Jitter, ErrInvalidOption)
	case p.MaxBackoff > 0 && p.InitialBackoff > p.MaxBackoff:
		return fmt.Errorf("restart policy backoff %s above its maximum %s: %w", p.InitialBackoff, p.MaxBackoff, ErrInvalidOption)
	}
	return nil
}

func (p RestartPolicy) withDefaults() RestartPolicy {
	if p.InitialBackoff == 0 {
		p.InitialBackoff = 100 * time.Millisecond
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = max(30*time.Second, p.InitialBackoff)
	}
	return p
}

// next is the task supervisor's question after each failure: failures are
// the times of the task's failures, oldest first, the latest included.
func (p RestartPolicy) next(failures []time.Time) (time.Duration, bool) {
	n := len(failures)
	if p.Window > 0 {
		since := time.Now().Add(-p.Window)
		n -= sort.Search(len(failures), func(i int) bool { return failures[i].After(since) })
	}
	if n > p.MaxRestarts {
		return 0, false
	}
	return p.Backoff(n), true
}

// Backoff is the delay before the restart that follows the n-th failure
// (n >= 1) within the window.
func (p *RestartPolicy) Backoff(n int) time.Duration {
	d := p.InitialBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if p.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + p.Jitter*(2*rand.Float64()-1)))
	}
	return d
}

// Go runs fn as a supervised task: a task actor runs it in a goroutine it
// owns, with a context cancelled by Cancel, by WithTimeout or by Shutdown.
// The task counts as busy from the moment Go returns until fn returns nil,
// fails for good, is cancelled, or is abandoned after ignoring cancellation.
// A panic in fn is a failure, logged with its stack.
func (s *Supervisor) Go(name string, metadata map[string]any, fn func(ctx context.Context) error, opts ...TaskOption) (TaskID, error) {
	if fn == nil {
		return 0, fmt.Errorf("go %q: nil function: %w", name, ErrInvalidOption)
	}
	return s.goTask(name, metadata, func(ctx context.Context) (any, error) { return nil, fn(ctx) }, opts)
}

// GoResult is Go for a function that returns a result: once the task has
// succeeded, Task(id).Result holds the function's value (for
// Config.ResultRetention, as the outcome of every task is kept).
//
//	id, err := supervisor.GoResult(sup, "summarize", meta, func(ctx context.Context) (Summary, error) {
//		return summarize(ctx, doc)
//	})
func GoResult[T any](s *Supervisor, name string, metadata map[string]any, fn func(ctx context.Context) (T, error), opts ...TaskOption) (TaskID, error) {
	if fn == nil {
		return 0, fmt.Errorf("go %q: nil function: %w", name, ErrInvalidOption)
	}
	return s.goTask(name, metadata, func(ctx context.Context) (any, error) {
		v, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		return v, nil
	}, opts)
}

func (s *Supervisor) goTask(name string, metadata map[string]any, run func(ctx context.Context) (any, error), opts []TaskOption) (TaskID, error) {
	start := &actors.StartTask{Spec: &actors.TaskSpec{Name: name, Metadata: metadata, Run: run, Grace: s.cfg.CancelGrace}}
	for _, opt := range opts {
		if opt.apply == nil {
			return 0, fmt.Errorf("go %q: zero TaskOption: %w", name, ErrInvalidOption)
		}
		if err := opt.apply(start); err != nil {
			return 0, fmt.Errorf("go %q: %w", name, err)
		}
	}
	return s.start(start)
}

// AddAsyncTask tracks a task that the program runs itself, until
// CompleteAsyncTask: the status is HealthyBusy as soon as it returns. The
// task is an actor too, so it shows in the tree. Once Shutdown has begun it
// tracks nothing, logs why and returns the zero TaskID.
func (s *Supervisor) AddAsyncTask(name string, metadata map[string]any) TaskID {
	id, err := s.start(&actors.StartTask{Spec: &actors.TaskSpec{Name: name, Metadata: metadata}})
	if err != nil {
		s.log.Warn().Err(err).Str("task_name", name).Msg("task not tracked")
	}
	return id
}

// start sends m, its options applied, to the task supervisor.
func (s *Supervisor) start(m *actors.StartTask) (TaskID, error) {
	if s.closing.Load() {
		return 0, fmt.Errorf("start task %q: %w", m.Spec.Name, ErrShuttingDown)
	}
	r := actors.NewRequest[actors.TaskStart]()
	m.Reply = r
	res, err := command(s, s.cast.TasksPID, m, r)
	if err == nil {
		err = res.Err
	}
	if errors.Is(err, actors.ErrDraining) {
		err = fmt.Errorf("%w: %w", ErrShuttingDown, err)
	}
	return TaskID(res.ID), err
}

// CompleteAsyncTask stops tracking a task added with AddAsyncTask. It
// returns false, and changes nothing, for an unknown id, a task already
// completed, or a task started with Go (use Cancel).
func (s *Supervisor) CompleteAsyncTask(id TaskID) bool {
	r := actors.NewRequest[bool]()
	ok, _ := command(s, s.cast.TasksPID, &actors.CompleteTask{ID: actors.TaskID(id), Reply: r}, r)
	return ok
}

// Cancel cancels a task: a task added with AddAsyncTask, or one waiting to
// be restarted, is over without delay; a running function's context is
// cancelled (with cause ErrCancelled) and the task ends when it returns, or
// is abandoned after its cancel grace (a function that returned just before
// still ends the task as it would have). It returns false for an unknown
// task or one already over or cancelled.
func (s *Supervisor) Cancel(id TaskID) bool {
	r := actors.NewRequest[bool]()
	ok, _ := command(s, s.cast.TasksPID, &actors.CancelTask{ID: actors.TaskID(id), Reply: r}, r)
	return ok
}

// AsyncTaskInfo returns the tracked tasks in start order, with how long each
// has run.
func (s *Supervisor) AsyncTaskInfo() TaskInfo {
	r := make(chan actors.TaskInfo, 1)
	info, _ := call(s, s.cast.StatusPID, &actors.GetTaskInfo{Reply: r}, r)
	return taskInfoOf(info)
}

// Task returns one task: a live one, or the outcome of one that ended
// within Config.ResultRetention (at most Config.MaxResults are kept, the
// oldest dropped first). It returns false for an unknown or expired id, and
// once Shutdown has stopped the actors. Once it reports a task over,
// PingStatus no longer counts that task as busy.
func (s *Supervisor) Task(id TaskID) (Task, bool) {
	r := make(chan actors.TaskLookup, 1)
	found, err := call(s, s.cast.TasksPID, &actors.GetTask{ID: actors.TaskID(id), Reply: r}, r)
	if err != nil || !found.Found {
		return Task{}, false
	}
	return taskOf(found.Report), true
}

// Results returns the kept outcomes of ended tasks, newest first.
func (s *Supervisor) Results(ctx context.Context) ([]Task, error) {
	r := make(chan []actors.TaskReport, 1)
	reports, err := ask(ctx, s, s.cast.TasksPID, &actors.GetResults{Reply: r}, r)
	tasks := make([]Task, len(reports))
	for i, rep := range reports {
		tasks[i] = taskOf(rep)
	}
	return tasks, err
}

// HoldBusy counts an open request as busy until release is called: /ping
// says HealthyBusy meanwhile, with the time of that change, and the tree
// shows the request under the status actor. It is no task: AsyncTaskInfo
// does not list it, and WaitIdle and Shutdown do not wait for it.
// httpapi.Server holds one for an invocation or WebSocket session still open
// after its Config.BusyAfter, because the platform ends a session that
// /ping calls idle even with a request in flight. r.ID and r.Started are
// set here. release is safe to call more than once, from any goroutine; a
// hold that failed (the supervisor stopped) releases nothing.
func (s *Supervisor) HoldBusy(r OpenRequest) (release func()) {
	id := s.lastRequestID.Add(1)
	entry := actors.RequestEntry{ID: id, Method: r.Method, Path: r.Path, SessionID: r.SessionID, RequestID: r.RequestID, Started: time.Now()}
	req := actors.NewRequest[struct{}]()
	if _, err := command(s, s.cast.StatusPID, &actors.HoldBusy{Entry: entry, Reply: req}, req); err != nil {
		s.log.Warn().Err(err).Str("path", r.Path).Msg("long request not held as busy")
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { _ = s.send(s.cast.StatusPID, &actors.ReleaseBusy{ID: id}) }) }
}
