package supervisor

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/agentvisor/agentvisor/actors"
)

// Tree describes the live actor tree: the actor system at the root, the
// status actor, and the task supervisor with one node per live task actor
// (including abandoned tasks, which no longer count as busy).
func (s *Supervisor) Tree(ctx context.Context) (Node, error) {
	status, err := s.describe(ctx, s.cast.StatusPID)
	if err != nil {
		return Node{}, err
	}
	tasks, err := s.describe(ctx, s.cast.TasksPID)
	if err != nil {
		return Node{}, err
	}
	return Node{Kind: KindSystem, PID: s.system.ID, State: "running", Panics: s.Panics(), Children: []Node{status, tasks}}, nil
}

func (s *Supervisor) describe(ctx context.Context, pid *actor.PID) (Node, error) {
	r := make(chan actors.Node, 1)
	n, err := ask(ctx, s, pid, &actors.Describe{Reply: r}, r)
	return nodeOf(n), err
}
