package supervisor

import (
	"testing"

	"github.com/agentvisor/agentvisor/actors"
)

// The public constants have the actors' values: conversions are casts.
func TestVocabularyMatchesActors(t *testing.T) {
	for _, c := range []struct{ public, internal any }{
		{Healthy, Status(actors.Healthy)},
		{HealthyBusy, Status(actors.HealthyBusy)},
		{KindStatus, NodeKind(actors.KindStatus)},
		{KindTaskSupervisor, NodeKind(actors.KindTaskSupervisor)},
		{KindTask, NodeKind(actors.KindTask)},
		{KindRequest, NodeKind(actors.KindRequest)},
		{StateRunning, TaskState(actors.StateRunning)},
		{StateBackingOff, TaskState(actors.StateBackingOff)},
		{StateCancelling, TaskState(actors.StateCancelling)},
		{StateAbandoned, TaskState(actors.StateAbandoned)},
		{StateStopping, TaskState(actors.StateStopping)},
		{StateStuck, TaskState(actors.StateStuck)},
		{StateOver, TaskState(actors.StateOver)},
		{OutcomeSucceeded, Outcome(actors.OutcomeSucceeded)},
		{OutcomeCompleted, Outcome(actors.OutcomeCompleted)},
		{OutcomeFailed, Outcome(actors.OutcomeFailed)},
		{OutcomeCancelled, Outcome(actors.OutcomeCancelled)},
		{OutcomeAbandoned, Outcome(actors.OutcomeAbandoned)},
		{OutcomeTimedOut, Outcome(actors.OutcomeTimedOut)},
	} {
		if c.public != c.internal {
			t.Errorf("public %v (%T) differs from the actors' %v", c.public, c.public, c.internal)
		}
	}
}
