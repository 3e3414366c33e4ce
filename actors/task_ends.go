package actors

import (
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
	rec := s.recordOf(pid)
	if rec == nil {
		return
	}
	delete(s.byID, rec.node.ID)
	if rec.outcome == OutcomeNone {
		rec.outcome = OutcomeCancelled
		s.logOutcome(rec)
	}
	rec.cancel(nil)
	s.untrack(rec, nil)
}
