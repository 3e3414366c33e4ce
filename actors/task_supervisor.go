package actors

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// lastTaskID makes task ids unique for the life of the process, across
// supervisors.
var lastTaskID atomic.Uint64

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
	// value is what the function returned on success; err the last
	// failure, or the cause of the end; ended when the outcome was set.
	value any
	err   error
	ended time.Time
}

// report is the record as a TaskReport.
func (rec *taskRecord) report() TaskReport {
	node := rec.node
	node.Busy = rec.counted
	if rec.outcome != OutcomeNone { // over, if not yet untracked
		node.State, node.Busy = StateOver, false
	}
	return TaskReport{TaskNode: node, Outcome: rec.outcome, Value: rec.value, Err: rec.err, Ended: rec.ended}
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
	// taskProps spawns every task actor: one Props for all, whose producer
	// hands out the actor that start prepared in incarnating. A Props per
	// task, with the task in its producer's closure, cost 200 bytes per
	// tracked task for as long as it lived.
	taskProps *actor.Props
	counters  *Counters // read by anyone
	tel       *Telemetry
	log       zerolog.Logger
	results   *results // owned by Receive

	// The fields below are owned by Receive (HandleFailure runs on the same
	// mailbox goroutine).
	// ctx is this actor's own context, kept from Started so that
	// HandleFailure can act through it on the same goroutine.
	ctx         actor.Context
	incarnating *taskActor // the actor SpawnNamed is about to start, for taskProps
	draining    bool
	counted     int            // tasks the status actor counts as busy
	byName      map[string]int // counted tasks per name, for names with a limit
	byID        map[TaskID]*taskRecord
}

// NewTaskSupervisor returns a task supervisor that reports to the status
// actor at status, refuses tasks beyond limits, keeps the outcomes of ended
// tasks as kept says, and spawns the task actors with taskOpts, reporting
// them to tel; running counts the goroutines of all attempts, counters what
// others read.
func NewTaskSupervisor(status *actor.PID, limits Limits, kept ResultOptions, taskOpts []actor.PropsOption, running *sync.WaitGroup, counters *Counters, tel *Telemetry, log zerolog.Logger) *TaskSupervisor {
	s := &TaskSupervisor{
		status:   status,
		running:  running,
		limits:   limits,
		counters: counters,
		tel:      tel,
		log:      log,
		results:  newResults(kept),
		byName:   make(map[string]int),
		byID:     make(map[TaskID]*taskRecord),
	}
	s.taskProps = actor.PropsFromProducerWithActorSystem(s.incarnate, taskOpts...)
	return s
}

// incarnate is the producer of every task actor. SpawnNamed calls it at
// once, on this actor's goroutine, for the actor start prepared; protoactor
// would call it again only to restart a task actor, which this package never
// asks for (a failed attempt is a message, a panicking task actor is
// stopped), so any other call gets an actor that does nothing.
func (s *TaskSupervisor) incarnate(*actor.ActorSystem) actor.Actor {
	a := s.incarnating
	s.incarnating = nil
	if a == nil {
		return inert{}
	}
	return a
}

// inert is an actor that does nothing.
type inert struct{}

func (inert) Receive(actor.Context) {}

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
	case *GetTask:
		found := s.lookup(m.ID)
		if found.Report.Outcome == OutcomeNone {
			m.Reply <- found
			break
		}
		// The task's untracking is on its way to the status actor: the answer
		// goes behind it, so that a caller told the task is over finds /ping
		// no longer counting it (read-your-writes).
		reply := m.Reply
		c.Send(s.status, &Relay{Answer: func() { reply <- found }})
	case *GetResults:
		m.Reply <- s.results.recent(time.Now())
	case *Describe:
		m.Reply <- s.describe()
	case *attemptEnded:
		if rec := s.byID[m.ID]; rec != nil {
			s.ended(rec, m)
		}
	case *attemptFailed:
		if rec := s.byID[m.ID]; rec != nil {
			s.failed(rec, m)
		}
	case *attemptAbandoned:
		if rec := s.byID[m.ID]; rec != nil {
			s.abandon(rec, m.Cause)
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
	first := s.tel.firstAttempt(rec, m.Origin)
	s.incarnating = &taskActor{id: id, spec: m.Spec, taskCtx: ctx, running: s.running, log: &s.log, trace: first}
	pid, err := c.SpawnNamed(s.taskProps, taskActorName(id))
	s.incarnating = nil
	if err != nil {
		cancel(err)
		s.tel.notStarted(rec, err)
		m.Reply.Answer(TaskStart{Err: fmt.Errorf("spawn task %q: %w", m.Spec.Name, err)})
		return
	}
	rec.pid = pid
	s.tel.taskStarted(rec)
	s.count(rec, 1)
	s.byID[id] = rec
	c.Send(s.status, &TrackTask{
		Entry: TaskEntry{ID: id, Name: m.Spec.Name, Metadata: m.Spec.Metadata, Started: rec.node.Started},
		Reply: m.Reply,
	})
	s.taskLog(rec, zerolog.DebugLevel).Msg("task started")
}

// taskActorName is "task-" and the id, built in one allocation rather than two.
func taskActorName(id TaskID) string {
	var buf [32]byte
	return string(strconv.AppendUint(append(buf[:0], taskActorPrefix...), uint64(id), 10))
}

const taskActorPrefix = "task-"

// recordOf finds the task of a task actor by its pid, "tasks/task-<id>":
// the id in the name spares a map from pids to tasks.
func (s *TaskSupervisor) recordOf(pid *actor.PID) *taskRecord {
	_, name, _ := strings.Cut(pid.Id, "/"+taskActorPrefix)
	id, err := strconv.ParseUint(name, 10, 64)
	if err != nil {
		return nil
	}
	return s.byID[TaskID(id)]
}

func (s *TaskSupervisor) deadline(rec *taskRecord) time.Time {
	if rec.spec.Timeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(rec.spec.Timeout)
}

func (s *TaskSupervisor) sorted() []*taskRecord {
	recs := make([]*taskRecord, 0, len(s.byID))
	for _, rec := range s.byID {
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(x, y *taskRecord) int { return cmp.Compare(x.node.ID, y.node.ID) })
	return recs
}
