package actors

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// Commands the task supervisor takes.
type (
	// StartTask spawns a task actor and tracks the task; Reply gets its id
	// once the status actor has it (read-your-writes), or ErrDraining.
	StartTask struct {
		Spec  *TaskSpec
		Reply *Request[TaskStart]
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
	// CancelAll cancels every live task with the given cause; Reply gets
	// the tasks that were still counted as busy.
	CancelAll struct {
		Cause error
		Reply *Request[[]TaskNode]
	}
)

// lastTaskID makes task ids unique for the life of the process, across
// supervisors.
var lastTaskID atomic.Uint64

// maxFailureHistory bounds the failure times a task keeps for its restart
// policy, so that a task failing now and then for days holds no growing
// history; a policy sees at most this many of the latest.
const maxFailureHistory = 1000

// restartDue tells the task supervisor that a task's backoff is over.
type restartDue struct{ ID TaskID }

func (*restartDue) IgnoreDeadLetterLogging() {}

// taskRecord is the task supervisor's knowledge of one live task actor.
type taskRecord struct {
	spec *TaskSpec
	node TaskNode // what the tree shows; Metadata and Name come from spec
	pid  *actor.PID
	// ctx is the task's context, from which each attempt's derives;
	// Background, with a no-op cancel, for a hand-tracked task.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// backoff is the pending restart timer while backing off.
	backoff *time.Timer
	// failures are the times of the task's failed attempts, oldest first,
	// for its restart policy.
	failures []time.Time
	// counted is true while the status actor counts the task as busy.
	counted bool
	outcome Outcome
}

// TaskSupervisor is the parent of every task actor. Task actors report each
// attempt's end by message; it decides, with each task's restart policy,
// between a restart after a backoff and the task's end, and tells the status
// actor exactly once per task that it no longer counts. As their supervisor
// strategy (HandleFailure) it also ends a task whose actor panicked in its
// own code.
type TaskSupervisor struct {
	status  *actor.PID
	running *sync.WaitGroup
	limits  Limits
	// taskOpts are the props options of every task actor: the dispatcher and
	// mailbox its messages run on.
	taskOpts []actor.PropsOption
	panics   *atomic.Uint64 // task functions that panicked; read by anyone
	log      zerolog.Logger

	// The fields below are owned by Receive (HandleFailure runs on the same
	// mailbox goroutine).
	// ctx is this actor's own context, kept from Started so that
	// HandleFailure can act through it on the same goroutine.
	ctx      actor.Context
	draining bool
	counted  int            // tasks the status actor counts as busy
	byName   map[string]int // counted tasks per name, for names with a limit
	byID     map[TaskID]*taskRecord
	byPID    map[string]*taskRecord
}

// NewTaskSupervisor returns a task supervisor that reports to the status
// actor at status, refuses tasks beyond limits and spawns the task actors
// with taskOpts; running counts the goroutines of all attempts, panics the
// task functions that panicked.
func NewTaskSupervisor(status *actor.PID, limits Limits, taskOpts []actor.PropsOption, running *sync.WaitGroup, panics *atomic.Uint64, log zerolog.Logger) *TaskSupervisor {
	return &TaskSupervisor{
		status:   status,
		taskOpts: taskOpts,
		running:  running,
		limits:   limits,
		panics:   panics,
		log:      log,
		byName:   make(map[string]int),
		byID:     make(map[TaskID]*taskRecord),
		byPID:    make(map[string]*taskRecord),
	}
}

// Receive handles one message.
func (s *TaskSupervisor) Receive(c actor.Context) {
	defer logPanic(&s.log, c.Self(), c.Message())
	switch m := c.Message().(type) {
	case *actor.Started:
		s.ctx = c
	case *StartTask:
		if m.Reply.Take() {
			s.start(c, m)
		}
	case *CompleteTask:
		if m.Reply.Take() {
			s.complete(m)
		}
	case *CancelTask:
		if m.Reply.Take() {
			s.cancel(m.ID, ErrCancelled, m.Reply)
		}
	case *Drain:
		if m.Reply.Take() {
			s.draining = true
			m.Reply.Answer(struct{}{})
		}
	case *CancelAll:
		if m.Reply.Take() {
			m.Reply.Answer(s.cancelAll(m.Cause))
		}
	case *Describe:
		m.Reply <- s.describe()
	case *attemptEnded:
		if rec := s.byID[m.ID]; rec != nil {
			s.finish(rec, m.Outcome, nil)
		}
	case *attemptFailed:
		if rec := s.byID[m.ID]; rec != nil {
			s.failed(rec, m)
		}
	case *attemptAbandoned:
		if rec := s.byID[m.ID]; rec != nil {
			s.abandon(rec)
		}
	case *attemptStuck:
		if rec := s.byID[m.ID]; rec != nil && rec.node.State == StateRunning {
			rec.node.State = StateStuck
			s.taskLog(rec, zerolog.WarnLevel).Dur("heartbeat", rec.spec.Heartbeat).Msg("task missed its heartbeat; cancelling the attempt")
		}
	case *taskProgressed:
		if rec := s.byID[m.ID]; rec != nil {
			p := m.Progress
			rec.node.Progress = &p
		}
	case *restartDue:
		if rec := s.byID[m.ID]; rec != nil && rec.node.State == StateBackingOff {
			s.restart(rec)
		}
	case *actor.Terminated:
		s.terminated(m.Who)
	case *actor.Stopping:
		for _, rec := range s.byID {
			if rec.backoff != nil {
				rec.backoff.Stop()
			}
		}
	}
}

func (s *TaskSupervisor) start(c actor.Context, m *StartTask) {
	if err := s.admit(m.Spec.Name); err != nil {
		m.Reply.Answer(TaskStart{Err: fmt.Errorf("start task %q: %w", m.Spec.Name, err)})
		return
	}
	id := TaskID(lastTaskID.Add(1))
	// A hand-tracked task runs no function, so nothing would ever see its
	// context: it does without one (two allocations).
	ctx, cancel := context.Background(), context.CancelCauseFunc(func(error) {})
	if m.Spec.Run != nil {
		ctx, cancel = context.WithCancelCause(context.Background())
	}
	rec := &taskRecord{
		spec:   m.Spec,
		ctx:    ctx,
		cancel: cancel,
		node: TaskNode{
			ID: id, Name: m.Spec.Name, Metadata: m.Spec.Metadata, Manual: m.Spec.Run == nil,
			State: StateRunning, Started: time.Now(),
		},
	}
	rec.node.Deadline = s.deadline(rec)
	props := actor.PropsFromProducerWithActorSystem(func(*actor.ActorSystem) actor.Actor {
		return &taskActor{id: id, spec: m.Spec, taskCtx: ctx, running: s.running, log: &s.log}
	}, s.taskOpts...)
	pid, err := c.SpawnNamed(props, taskActorName(id))
	if err != nil {
		cancel(err)
		m.Reply.Answer(TaskStart{Err: fmt.Errorf("spawn task %q: %w", m.Spec.Name, err)})
		return
	}
	rec.pid = pid
	s.count(rec, 1)
	s.byID[id], s.byPID[pid.Id] = rec, rec
	c.Send(s.status, &TrackTask{
		Entry: TaskEntry{ID: id, Name: m.Spec.Name, Metadata: m.Spec.Metadata, Started: rec.node.Started},
		Reply: m.Reply,
	})
	s.taskLog(rec, zerolog.DebugLevel).Msg("task started")
}

// taskActorName is "task-" and the id, built in one allocation rather than two.
func taskActorName(id TaskID) string {
	var buf [32]byte
	return string(strconv.AppendUint(append(buf[:0], "task-"...), uint64(id), 10))
}

// admit refuses a new task while draining or beyond a limit.
func (s *TaskSupervisor) admit(name string) error {
	switch {
	case s.draining:
		return ErrDraining
	case s.limits.MaxTasks > 0 && s.counted >= s.limits.MaxTasks:
		return fmt.Errorf("%w: %d running, limit %d", ErrTooManyTasks, s.counted, s.limits.MaxTasks)
	}
	if max, ok := s.limits.MaxPerName[name]; ok && s.byName[name] >= max {
		return fmt.Errorf("%w: %d %q running, limit %d", ErrTooManyTasks, s.byName[name], name, max)
	}
	return nil
}

// count marks a task as counted as busy (delta 1) or no longer (-1).
func (s *TaskSupervisor) count(rec *taskRecord, delta int) {
	rec.counted = delta > 0
	s.counted += delta
	if _, limited := s.limits.MaxPerName[rec.node.Name]; limited {
		s.byName[rec.node.Name] += delta
	}
}

func (s *TaskSupervisor) deadline(rec *taskRecord) time.Time {
	if rec.spec.Timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(rec.spec.Timeout)
}

// complete ends a hand-tracked task. The status actor untracks it and answers
// the caller, so the caller's next ping already counts it out.
func (s *TaskSupervisor) complete(m *CompleteTask) {
	rec := s.byID[m.ID]
	if rec == nil || !rec.node.Manual || rec.outcome != OutcomeNone {
		m.Reply.Answer(false)
		return
	}
	s.finish(rec, OutcomeCompleted, m.Reply)
}

// cancel cancels a live task. reply (optional) hears false if it is unknown
// or already over or cancelled, else true: from the status actor once it is
// untracked, for a task that ends at once (hand-tracked, or backing off).
func (s *TaskSupervisor) cancel(id TaskID, cause error, reply *Request[bool]) {
	rec := s.byID[id]
	if rec == nil || rec.outcome != OutcomeNone || rec.ctx.Err() != nil {
		reply.Answer(false)
		return
	}
	rec.cancel(cause)
	s.taskLog(rec, zerolog.InfoLevel).AnErr("cause", cause).Msg("task cancelled")
	switch {
	case rec.node.State == StateBackingOff:
		rec.backoff.Stop()
		s.finish(rec, OutcomeCancelled, reply)
	case rec.node.Manual:
		s.finish(rec, OutcomeCancelled, reply)
	default:
		rec.node.State = StateCancelling
		reply.Answer(true)
	}
}

// cancelAll cancels every live task and lists those still counted as busy.
func (s *TaskSupervisor) cancelAll(cause error) []TaskNode {
	var busy []TaskNode
	for _, rec := range s.sorted() {
		if rec.counted {
			busy = append(busy, rec.node)
		}
		s.cancel(rec.node.ID, cause, nil)
	}
	return busy
}

// finish records a task's outcome, untracks it and stops its actor.
// reply, if not nil, hears from the status actor once it is untracked.
func (s *TaskSupervisor) finish(rec *taskRecord, outcome Outcome, reply *Request[bool]) {
	if rec.outcome == OutcomeNone {
		rec.outcome = outcome
		s.logOutcome(rec)
	}
	s.untrack(rec, reply)
	rec.node.State = StateStopping
	// Stop rather than StopChildren, whose variadic slice escapes: same stop
	// message, one allocation less per task.
	s.ctx.Stop(rec.pid)
}

// untrack tells the status actor, once per task, that it no longer counts.
func (s *TaskSupervisor) untrack(rec *taskRecord, reply *Request[bool]) {
	if !rec.counted {
		reply.Answer(false)
		return
	}
	s.count(rec, -1)
	s.ctx.Send(s.status, &UntrackTask{ID: rec.node.ID, Reply: reply})
}

// abandon gives up on a task whose function ignores its cancelled context
// (cancelled by the program, a shutdown, its timeout or heartbeat): the task
// is over, and whatever its function returns later ends its actor, nothing
// more.
func (s *TaskSupervisor) abandon(rec *taskRecord) {
	if rec.node.State != StateRunning && rec.node.State != StateCancelling && rec.node.State != StateStuck {
		return
	}
	rec.node.State = StateAbandoned
	rec.outcome = OutcomeAbandoned
	s.logOutcome(rec)
	s.untrack(rec, nil)
}

// terminated forgets a stopped task actor; a task that was not yet over
// (its actor was stopped by a shutdown) is untracked here.
func (s *TaskSupervisor) terminated(pid *actor.PID) {
	rec := s.byPID[pid.Id]
	if rec == nil {
		return
	}
	delete(s.byPID, pid.Id)
	delete(s.byID, rec.node.ID)
	if rec.outcome == OutcomeNone {
		rec.outcome = OutcomeCancelled
		s.logOutcome(rec)
	}
	rec.cancel(nil)
	s.untrack(rec, nil)
}

// failed decides what follows a failed attempt: a restart after a backoff,
// if the task's policy allows it, else the task's end.
func (s *TaskSupervisor) failed(rec *taskRecord, m *attemptFailed) {
	if m.Panicked {
		s.panics.Add(1)
	}
	if rec.outcome != OutcomeNone { // abandoned: over already
		s.finish(rec, rec.outcome, nil)
		return
	}
	rec.node.LastError = m.Err.Error()
	rec.failures = append(rec.failures, time.Now())
	if len(rec.failures) > maxFailureHistory {
		rec.failures = slices.Delete(rec.failures, 0, len(rec.failures)-maxFailureHistory)
	}
	delay, again := time.Duration(0), false
	if rec.spec.Restart != nil && !s.draining && rec.ctx.Err() == nil {
		delay, again = rec.spec.Restart(rec.failures)
	}
	ev := s.taskLog(rec, zerolog.WarnLevel).Int("attempt", rec.node.Restarts+1).Err(m.Err)
	if len(m.Stack) > 0 {
		ev = ev.Str("stack", string(m.Stack))
	}
	if !again {
		ev.Msg("task attempt failed; not restarting")
		s.finish(rec, OutcomeFailed, nil)
		return
	}
	ev.Dur("backoff", delay).Msg("task attempt failed; restarting after backoff")
	rec.node.State = StateBackingOff
	self, root := s.ctx.Self(), s.ctx.ActorSystem().Root
	id := rec.node.ID
	rec.backoff = time.AfterFunc(delay, func() { root.Send(self, &restartDue{ID: id}) })
}

func (s *TaskSupervisor) restart(rec *taskRecord) {
	rec.backoff = nil
	rec.node.Restarts++
	rec.node.State = StateRunning
	rec.node.Deadline = s.deadline(rec)
	s.taskLog(rec, zerolog.InfoLevel).Int("attempt", rec.node.Restarts+1).Str("reason", rec.node.LastError).Msg("task restarting")
	s.ctx.Send(rec.pid, &runAttempt{})
}

// HandleFailure is the supervisor strategy of every task actor. Task
// functions report their failures by message, so only a bug in a task
// actor's own Receive lands here (logPanic has logged it with its stack):
// the task ends failed rather than run on in an actor that lost a message.
func (s *TaskSupervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	rec := s.byPID[child.Id]
	if rec == nil {
		sup.StopChildren(child)
		return
	}
	rec.node.LastError = fmt.Sprintf("task actor panicked: %v", reason)
	s.finish(rec, OutcomeFailed, nil)
}

func (s *TaskSupervisor) describe() Node {
	recs := s.sorted()
	children := make([]Node, 0, len(recs))
	for _, rec := range recs {
		node := rec.node
		node.Busy = rec.counted
		children = append(children, Node{Kind: KindTask, PID: rec.pid.Id, State: node.State.String(), Task: &node})
	}
	node := Node{Kind: KindTaskSupervisor, PID: s.ctx.Self().Id, State: "running", Draining: s.draining, Children: children}
	if s.limits.MaxTasks > 0 || len(s.limits.MaxPerName) > 0 {
		node.Limits = &LimitsNode{Limits: s.limits, Active: s.counted, ActivePerName: maps.Clone(s.byName)}
	}
	return node
}

func (s *TaskSupervisor) sorted() []*taskRecord {
	recs := make([]*taskRecord, 0, len(s.byID))
	for _, rec := range s.byID {
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(x, y *taskRecord) int { return cmp.Compare(x.node.ID, y.node.ID) })
	return recs
}

// taskLog starts a log event about rec at level; nil (a no-op) when the
// level is off, so that the hot path builds nothing.
func (s *TaskSupervisor) taskLog(rec *taskRecord, level zerolog.Level) *zerolog.Event {
	return s.log.WithLevel(level).Uint64("task_id", uint64(rec.node.ID)).Str("task_name", rec.node.Name)
}

// logOutcome writes the one "task over" line of a task, at a level that
// grows with how bad its end is.
func (s *TaskSupervisor) logOutcome(rec *taskRecord) {
	var ev *zerolog.Event
	switch rec.outcome {
	case OutcomeSucceeded, OutcomeCompleted, OutcomeCancelled:
		ev = s.taskLog(rec, zerolog.InfoLevel)
	case OutcomeFailed:
		ev = s.taskLog(rec, zerolog.WarnLevel)
	default:
		ev = s.taskLog(rec, zerolog.ErrorLevel).Dur("grace", rec.spec.Grace).
			Str("note", "its function ignored cancellation: it no longer counts as busy, but Go cannot stop its goroutine")
	}
	ev.Str("outcome", rec.outcome.String()).Int("restarts", rec.node.Restarts).
		Dur("duration", time.Since(rec.node.Started)).Msg("task over")
}
