package actors

import "time"

// Describe asks an actor for its node in the actor tree.
type Describe struct {
	Reply chan<- Node
}

// NodeKind says what an actor in the tree is.
type NodeKind string

// The kinds of node in the tree.
const (
	KindSystem         NodeKind = "system"
	KindStatus         NodeKind = "status"
	KindTaskSupervisor NodeKind = "task_supervisor"
	KindTask           NodeKind = "task"
)

// Node is one actor of the live actor tree.
type Node struct {
	Kind NodeKind `json:"kind"`
	// PID is the actor's id in the actor system.
	PID   string `json:"pid"`
	State string `json:"state"`
	// Status is set on the status actor's node.
	Status *StatusNode `json:"status,omitempty"`
	// Task is set on a task actor's node.
	Task *TaskNode `json:"task,omitempty"`
	// Draining is set on the task supervisor's node once it refuses new tasks.
	Draining bool `json:"draining,omitempty"`
	// Limits is set on the task supervisor's node when limits are configured.
	Limits *LimitsNode `json:"limits,omitempty"`
	// Panics counts recovered panics by where they happened; set on the root.
	Panics   map[string]uint64 `json:"panics,omitempty"`
	Children []Node            `json:"children,omitempty"`
}

// StatusNode is what the status actor shows of itself.
type StatusNode struct {
	Status      Status    `json:"status"`
	Since       time.Time `json:"since"`
	Forced      Status    `json:"forced,omitzero"`
	Custom      Status    `json:"custom,omitzero"`
	ActiveCount int       `json:"active_count"`
}

// TaskNode is what a task actor's node shows of its task.
type TaskNode struct {
	ID       TaskID         `json:"task_id"`
	Name     string         `json:"name"`
	Metadata map[string]any `json:"metadata"`
	// Manual is true for a task tracked by hand (no function).
	Manual bool      `json:"manual"`
	State  TaskState `json:"state"`
	// Busy is true while the status actor counts the task: not once it is
	// over, nor once it was abandoned.
	Busy     bool      `json:"busy"`
	Started  time.Time `json:"started"`
	Restarts int       `json:"restarts"`
	// LastError is the latest failure's message, empty if none.
	LastError string `json:"last_error,omitempty"`
	// Deadline is when the current attempt times out, zero if it has no timeout.
	Deadline time.Time `json:"deadline,omitzero"`
	// Progress is the latest progress the task reported, nil if none.
	Progress *Progress `json:"progress,omitempty"`
}

// Progress is what a task reports of its own advance; each report is also a
// heartbeat.
type Progress struct {
	// Fraction done, in [0, 1].
	Fraction float64 `json:"fraction"`
	// Note is free text, such as the current step.
	Note string    `json:"note,omitempty"`
	At   time.Time `json:"at"`
}

// Limits bounds how many tasks are counted as busy at once; zero values mean
// no limit. A task beyond a limit is refused with ErrTooManyTasks.
type Limits struct {
	// MaxTasks bounds all tasks together.
	MaxTasks int `json:"max_tasks,omitempty"`
	// MaxPerName bounds the tasks of one name.
	MaxPerName map[string]int `json:"max_per_name,omitempty"`
}

// LimitsNode shows the limits and how much of them is in use.
type LimitsNode struct {
	Limits
	Active        int            `json:"active"`
	ActivePerName map[string]int `json:"active_per_name,omitempty"`
}
