package actors

import (
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// MaxFailureHistory bounds the failure times a task keeps for its restart
// policy, so that a task failing now and then for days holds no growing
// history; a policy sees at most this many of the latest, so it may allow
// at most MaxFailureHistory-1 restarts.
const MaxFailureHistory = 1000

// failed decides what follows a failed attempt: a restart after a backoff,
// if the task's policy allows it, else the task's end.
func (s *TaskSupervisor) failed(rec *taskRecord, m *attemptFailed) {
	if m.Panicked {
		s.counters.Panics.Add(1)
	}
	if rec.outcome != OutcomeNone { // abandoned: over already
		s.finish(rec, rec.outcome, nil)
		return
	}
	rec.node.LastError, rec.err = m.Err.Error(), m.Err
	s.tel.attemptFailed(rec, m)
	rec.failures = append(rec.failures, time.Now())
	if len(rec.failures) > MaxFailureHistory {
		rec.failures = slices.Delete(rec.failures, 0, len(rec.failures)-MaxFailureHistory)
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
		outcome := OutcomeFailed
		if m.TimedOut {
			outcome = OutcomeTimedOut
		}
		s.finish(rec, outcome, nil)
		return
	}
	ev.Dur("backoff", delay).Msg("task attempt failed; restarting after backoff")
	rec.node.State = StateBackingOff
	s.tel.backingOff(rec, delay)
	self, root := s.ctx.Self(), s.ctx.ActorSystem().Root
	id := rec.node.ID
	rec.backoff = time.AfterFunc(delay, func() { root.Send(self, &restartDue{ID: id}) })
}

func (s *TaskSupervisor) restart(rec *taskRecord) {
	rec.backoff = nil
	if s.draining { // no restart once draining, even one decided before
		s.finish(rec, OutcomeFailed, nil)
		return
	}
	rec.node.Restarts++
	rec.node.State = StateRunning
	rec.node.Deadline = s.deadline(rec)
	s.taskLog(rec, zerolog.InfoLevel).Int("attempt", rec.node.Restarts+1).Str("reason", rec.node.LastError).Msg("task restarting")
	s.ctx.Send(rec.pid, &runAttempt{trace: s.tel.restarted(rec)})
}

// HandleFailure is the supervisor strategy of every task actor. Task
// functions report their failures by message, so only a bug in a task
// actor's own Receive lands here (logPanic has logged it with its stack):
// the task ends failed rather than run on in an actor that lost a message.
func (s *TaskSupervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	rec := s.recordOf(child)
	if rec == nil {
		sup.StopChildren(child)
		return
	}
	rec.err = fmt.Errorf("task actor panicked: %v", reason)
	rec.node.LastError = rec.err.Error()
	s.finish(rec, OutcomeFailed, nil)
}
