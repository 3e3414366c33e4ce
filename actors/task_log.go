package actors

import (
	"time"

	"github.com/rs/zerolog"
)

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
	case OutcomeFailed, OutcomeTimedOut:
		ev = s.taskLog(rec, zerolog.WarnLevel)
	default:
		ev = s.taskLog(rec, zerolog.ErrorLevel).Dur("grace", rec.spec.Grace).
			Str("note", "its function ignored cancellation: it no longer counts as busy, but Go cannot stop its goroutine")
	}
	ev.Str("outcome", rec.outcome.String()).Int("restarts", rec.node.Restarts).
		Dur("duration", time.Since(rec.node.Started)).Msg("task over")
}
