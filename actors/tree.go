package actors

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// NodeKind says what an actor in the tree is.
type NodeKind string

// The kinds of node in the tree.
const (
	KindStatus         NodeKind = "status"
	KindTaskSupervisor NodeKind = "task_supervisor"
	KindTask           NodeKind = "task"
	KindRequest        NodeKind = "request" // an open request held as busy; no actor
)

// Node is one actor of the live actor tree.
type Node struct {
	Kind NodeKind
	// PID is the actor's id in the actor system.
	PID   string
	State string
	// Status is set on the status actor's node.
	Status *StatusNode
	// Task is set on a task actor's node.
	Task *TaskNode
	// Request is set on a long request's node, a child of the status actor's.
	Request *RequestEntry
	// Draining is set on the task supervisor's node once it refuses new tasks.
	Draining bool
	// Limits is set on the task supervisor's node when limits are configured.
	Limits   *LimitsNode
	Children []Node
}

// StatusNode is what the status actor shows of itself.
type StatusNode struct {
	Status      Status
	Since       time.Time
	Forced      Status
	Custom      Status
	ActiveCount int
	// History is the status changes of the last hour, oldest first.
	History []StatusChange
}

// TaskNode is what a task actor's node shows of its task.
type TaskNode struct {
	ID       TaskID
	Name     string
	Metadata map[string]any
	// Manual is true for a task tracked by hand (no function).
	Manual bool
	State  TaskState
	// Busy is true while the status actor counts the task: not once it is
	// over, nor once it was abandoned.
	Busy     bool
	Started  time.Time
	Restarts int
	// LastError is the latest failure's message, empty if none.
	LastError string
	// Deadline is when the current attempt times out, zero if it has no timeout.
	Deadline time.Time
	// Progress is the latest progress the task reported, nil if none.
	Progress *Progress
}

// Progress is what a task reports of its own advance; each report is also a
// heartbeat.
type Progress struct {
	// Fraction done, in [0, 1].
	Fraction float64
	// Note is free text, such as the current step.
	Note string
	At   time.Time
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

func (a *StatusActor) describe(c actor.Context) Node {
	hourAgo := time.Now().Add(-time.Hour)
	recent := a.history[sort.Search(len(a.history), func(i int) bool { return a.history[i].At.After(hourAgo) }):]
	n := Node{
		Kind:  KindStatus,
		PID:   c.Self().Id,
		State: "running",
		Status: &StatusNode{
			Status:      a.current,
			Since:       a.since,
			Forced:      a.forced,
			Custom:      a.custom,
			ActiveCount: len(a.tasks),
			History:     slices.Clone(recent),
		},
	}
	for _, r := range a.requests {
		n.Children = append(n.Children, Node{Kind: KindRequest, PID: c.Self().Id + "/request-" + strconv.FormatUint(r.ID, 10), State: "open", Request: &r})
	}
	slices.SortFunc(n.Children, func(x, y Node) int { return cmp.Compare(x.Request.ID, y.Request.ID) })
	return n
}
