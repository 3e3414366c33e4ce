package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

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
	rec.err = cause
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
func (s *TaskSupervisor) cancelAll(cause error) Cancelled {
	var c Cancelled
	for _, rec := range s.sorted() {
		if rec.counted {
			c.Busy = append(c.Busy, rec.node)
			c.Grace = max(c.Grace, rec.spec.Grace)
		}
		s.cancel(rec.node.ID, cause, nil)
	}
	return c
}

// ended records what an attempt's end means for its task: a cancelled
// return ends it cancelled (with the cancellation's cause), a success
// succeeded (with the function's value).
func (s *TaskSupervisor) ended(rec *taskRecord, m *attemptEnded) {
	if rec.outcome != OutcomeNone { // abandoned: over already
		s.finish(rec, rec.outcome, nil)
		return
	}
	rec.err = nil // a success after a restart has no error
	if m.Outcome == OutcomeCancelled {
		rec.err = context.Cause(rec.ctx)
	}
	rec.value = m.Value
	s.finish(rec, m.Outcome, nil)
}

// conclude sets a task's outcome, once: it logs the task's one "task over"
// line and keeps the outcome for GetTask.
func (s *TaskSupervisor) conclude(rec *taskRecord, outcome Outcome) {
	if rec.outcome != OutcomeNone {
		return
	}
	rec.outcome, rec.ended = outcome, time.Now()
	s.logOutcome(rec)
	s.tel.concluded(rec)
	s.results.keep(rec.report())
}

// finish concludes a task, untracks it and stops its actor. reply, if not
// nil, hears from the status actor once it is untracked.
func (s *TaskSupervisor) finish(rec *taskRecord, outcome Outcome, reply *Request[bool]) {
	s.conclude(rec, outcome)
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
func (s *TaskSupervisor) abandon(rec *taskRecord, cause error) {
	if rec.node.State != StateRunning && rec.node.State != StateCancelling && rec.node.State != StateStuck {
		return
	}
	rec.node.State = StateAbandoned
	rec.err = fmt.Errorf("%w (%s) after it was cancelled: %w", errAbandoned, rec.spec.Grace, cause)
	s.conclude(rec, OutcomeAbandoned)
	s.untrack(rec, nil)
}

// terminated forgets a stopped task actor; a task that was not yet over
// (its actor was stopped by a shutdown) is untracked here.
func (s *TaskSupervisor) terminated(pid *actor.PID) {
	rec := s.recordOf(pid)
	if rec == nil {
		return
	}
	delete(s.byID, rec.node.ID)
	s.conclude(rec, OutcomeCancelled) // stopped by a shutdown
	rec.cancel(nil)
	s.untrack(rec, nil)
}

// lookup finds a task: live, or over and kept.
func (s *TaskSupervisor) lookup(id TaskID) TaskLookup {
	if rec := s.byID[id]; rec != nil && rec.outcome == OutcomeNone {
		return TaskLookup{Report: rec.report(), Found: true}
	}
	// An ended task is what was kept of it, even while its actor stops.
	rep, ok := s.results.get(id, time.Now())
	return TaskLookup{Report: rep, Found: ok}
}
