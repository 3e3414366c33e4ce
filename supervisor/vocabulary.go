package supervisor

import (
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/agentvisor/agentvisor/actors"
)

// The status vocabulary. The actors have their own types; these are the
// ones a program sees, converted at the API's edge so that no internal type
// shows in the package's documentation. The constants have the actors'
// values, so that a conversion is a cast (TestVocabularyMatchesActors).

// Status is a ping status: Healthy or HealthyBusy.
type Status uint8

// The statuses. The zero Status is none: no forced status, no custom one.
const (
	Healthy     Status = 1
	HealthyBusy Status = 2
)

// String returns the status as the contract spells it: "Healthy" or
// "HealthyBusy".
func (s Status) String() string { return actors.Status(s).String() }

// Valid reports whether s is Healthy or HealthyBusy.
func (s Status) Valid() bool { return actors.Status(s).Valid() }

// MarshalText encodes a valid status as its contract spelling.
func (s Status) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("marshal status %d: %w", s, ErrInvalidStatus)
	}
	return []byte(s.String()), nil
}

// Ping is what /ping reports: the status and when it last changed.
type Ping struct {
	Status Status
	// Since is when Status last changed; it moves only when Status does.
	Since time.Time
}

func pingOf(p actors.Ping) Ping { return Ping{Status: Status(p.Status), Since: p.Since} }

// TaskID identifies a tracked task for the life of the process; the zero
// TaskID is never a task.
type TaskID uint64

// String returns the id in decimal.
func (id TaskID) String() string { return actors.TaskID(id).String() }

// TaskInfo is the count of tracked tasks and the tasks in start order, the
// reference's get_async_task_info.
type TaskInfo struct {
	ActiveCount int
	RunningJobs []Job
}

// Job is one tracked task in a TaskInfo.
type Job struct {
	ID   TaskID
	Name string
	// Metadata is the task's, which the reference's job_status leaves out.
	Metadata map[string]any
	Started  time.Time
	Duration time.Duration
}

func taskInfoOf(info actors.TaskInfo) TaskInfo {
	jobs := make([]Job, len(info.RunningJobs))
	for i, j := range info.RunningJobs {
		jobs[i] = Job{ID: TaskID(j.ID), Name: j.Name, Metadata: j.Metadata, Started: j.Started, Duration: j.Duration}
	}
	return TaskInfo{ActiveCount: info.ActiveCount, RunningJobs: jobs}
}

// Limits bounds how many tasks are counted as busy at once; zero values
// mean no limit. A task beyond a limit is refused with ErrTooManyTasks.
type Limits struct {
	// MaxTasks bounds all tasks together.
	MaxTasks int `json:"max_tasks,omitempty"`
	// MaxPerName bounds the tasks of one name.
	MaxPerName map[string]int `json:"max_per_name,omitempty"`
}

func (l Limits) actors() actors.Limits {
	return actors.Limits{MaxTasks: l.MaxTasks, MaxPerName: maps.Clone(l.MaxPerName)}
}

// NodeKind says what an actor in the tree is.
type NodeKind string

// The kinds of node in the tree.
const (
	KindSystem         NodeKind = "system"
	KindStatus         NodeKind = "status"
	KindTaskSupervisor NodeKind = "task_supervisor"
	KindTask           NodeKind = "task"
	KindRequest        NodeKind = "request" // an open request held as busy (HoldBusy), under the status actor
)

// Node is one actor of the live actor tree (Tree).
type Node struct {
	Kind NodeKind `json:"kind"`
	// PID is the actor's id in the actor system.
	PID string `json:"pid"`
	// State is "running" for the system and the top-level actors, the
	// task's state for a task.
	State string `json:"state"`
	// Status is set on the status actor's node.
	Status *StatusNode `json:"status,omitempty"`
	// Task is set on a task actor's node.
	Task *TaskNode `json:"task,omitempty"`
	// Request is set on a long request's node (KindRequest).
	Request *OpenRequest `json:"request,omitempty"`
	// Draining is set on the task supervisor's node once it refuses new
	// tasks.
	Draining bool `json:"draining,omitempty"`
	// Limits is set on the task supervisor's node when limits are
	// configured.
	Limits *LimitsNode `json:"limits,omitempty"`
	// Panics counts recovered panics by where they happened (PanicTask...);
	// set on the root.
	Panics map[string]uint64 `json:"panics,omitempty"`
	// Children are the actors this one supervises: the status actor and the
	// task supervisor under the root, one task actor per live task under the
	// task supervisor.
	Children []Node `json:"children,omitempty"`
}

// StatusNode is what the status actor shows of itself.
type StatusNode struct {
	// Status is what /ping reports, and Since when it last changed.
	Status Status    `json:"status"`
	Since  time.Time `json:"since"`
	// Forced is the status set with ForcePingStatus, zero if none.
	Forced Status `json:"forced,omitzero"`
	// Custom is the custom ping function's last answer, zero if there is no
	// function or it failed.
	Custom Status `json:"custom,omitzero"`
	// ActiveCount is the number of tasks counted as busy.
	ActiveCount int `json:"active_count"`
	// History is the status changes of the last hour (at most the latest
	// 1,000), oldest first.
	History []StatusChange `json:"history"`
}

// StatusChange is one change of the ping status.
type StatusChange struct {
	At   time.Time `json:"at"`
	From Status    `json:"from"`
	To   Status    `json:"to"`
	// Why is what changed it: task_started, task_ended, forced,
	// custom_ping, long_request or long_request_ended.
	Why string `json:"why"`
}

// OpenRequest is a request or WebSocket session still open, held as busy
// (HoldBusy). HoldBusy takes the method, path and ids and sets ID and
// Started (when the hold began); the tree shows all six.
type OpenRequest struct {
	ID        uint64    `json:"id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	SessionID string    `json:"session_id,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Started   time.Time `json:"started"`
}

// TaskNode is what a task actor's node shows of its task.
type TaskNode struct {
	ID       TaskID         `json:"task_id"`
	Name     string         `json:"name"`
	Metadata map[string]any `json:"metadata"`
	// Manual is true for a task tracked by hand (AddAsyncTask).
	Manual bool      `json:"manual"`
	State  TaskState `json:"state"`
	// Busy is true while the task counts as busy: not once it is over, nor
	// once it was abandoned.
	Busy    bool      `json:"busy"`
	Started time.Time `json:"started"`
	// Restarts is how many times its restart policy ran it again.
	Restarts int `json:"restarts"`
	// LastError is the latest failure's message, empty if none.
	LastError string `json:"last_error,omitempty"`
	// Deadline is when the current attempt times out, zero if it has no
	// timeout.
	Deadline time.Time `json:"deadline,omitzero"`
	// Progress is the latest progress the task reported, nil if none.
	Progress *TaskProgress `json:"progress,omitempty"`
}

// TaskProgress is what a task reports of its own advance (Progress).
type TaskProgress struct {
	// Fraction done, in [0, 1].
	Fraction float64 `json:"fraction"`
	// Note is free text, such as the current step.
	Note string `json:"note,omitempty"`
	// At is when the task reported it.
	At time.Time `json:"at"`
}

// LimitsNode shows the limits in the tree, with how much of them is in use.
type LimitsNode struct {
	Limits
	// Active is how many tasks count as busy, ActivePerName how many of each
	// name that has a limit.
	Active        int            `json:"active"`
	ActivePerName map[string]int `json:"active_per_name,omitempty"`
}

// TaskState is where a live task is in its life.
type TaskState uint8

// The states of a task: where a live one is, and StateOver once it ended.
const (
	StateRunning    TaskState = iota // its function runs, or it waits to be completed
	StateBackingOff                  // it failed and waits to be restarted
	StateCancelling                  // its context is cancelled, its function has not returned yet
	StateAbandoned                   // it ignored cancellation; no longer counted as busy
	StateStopping                    // it is over and its actor is stopping
	StateStuck                       // it missed its heartbeat; its context is cancelled
	StateOver                        // it ended; Supervisor.Task keeps its outcome for a while
)

// String returns the state's name as shown in the tree.
func (s TaskState) String() string { return actors.TaskState(s).String() }

// MarshalText encodes the state's name.
func (s TaskState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func nodeOf(n actors.Node) Node {
	out := Node{Kind: NodeKind(n.Kind), PID: n.PID, State: n.State, Draining: n.Draining}
	if s := n.Status; s != nil {
		out.Status = &StatusNode{Status: Status(s.Status), Since: s.Since, Forced: Status(s.Forced),
			Custom: Status(s.Custom), ActiveCount: s.ActiveCount, History: make([]StatusChange, len(s.History))}
		for i, c := range s.History {
			out.Status.History[i] = StatusChange{At: c.At, From: Status(c.From), To: Status(c.To), Why: c.Why.String()}
		}
	}
	if r := n.Request; r != nil {
		out.Request = &OpenRequest{ID: r.ID, Method: r.Method, Path: r.Path, SessionID: r.SessionID, RequestID: r.RequestID, Started: r.Started}
	}
	if t := n.Task; t != nil {
		out.Task = &TaskNode{ID: TaskID(t.ID), Name: t.Name, Metadata: t.Metadata, Manual: t.Manual,
			State: TaskState(t.State), Busy: t.Busy, Started: t.Started, Restarts: t.Restarts,
			LastError: t.LastError, Deadline: t.Deadline}
		if p := t.Progress; p != nil {
			out.Task.Progress = &TaskProgress{Fraction: p.Fraction, Note: p.Note, At: p.At}
		}
	}
	if l := n.Limits; l != nil {
		out.Limits = &LimitsNode{Limits: Limits{MaxTasks: l.MaxTasks, MaxPerName: l.MaxPerName},
			Active: l.Active, ActivePerName: l.ActivePerName}
	}
	if len(n.Children) > 0 {
		out.Children = make([]Node, len(n.Children))
		for i, c := range n.Children {
			out.Children[i] = nodeOf(c)
		}
	}
	return out
}

// Outcome is how a task ended.
type Outcome uint8

// The outcomes of a task; the zero Outcome is none: the task is live.
const (
	OutcomeSucceeded Outcome = iota + 1 // its function returned nil
	OutcomeCompleted                    // the program completed it (CompleteAsyncTask)
	OutcomeFailed                       // it failed and its restart policy gave up
	OutcomeCancelled                    // Cancel or Shutdown cancelled it
	OutcomeAbandoned                    // it ignored its cancellation past its cancel grace
	OutcomeTimedOut                     // its last attempt outlived WithTimeout and no restart followed
)

// String returns the outcome's name as logged: succeeded, completed,
// failed, cancelled, abandoned, timed_out; "none" for the zero Outcome.
func (o Outcome) String() string { return actors.Outcome(o).String() }

// MarshalText encodes the outcome's name.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Task is one task as Supervisor.Task reports it: live, or over and kept.
// It encodes to JSON with the error as its message.
type Task struct {
	ID       TaskID         `json:"task_id"`
	Name     string         `json:"name"`
	Metadata map[string]any `json:"metadata,omitempty"`
	// Manual is true for a task tracked by hand (AddAsyncTask).
	Manual bool `json:"manual,omitempty"`
	// State is where a live task is; StateOver once it ended.
	State TaskState `json:"state"`
	// Outcome is how the task ended; zero while it is live.
	Outcome Outcome `json:"outcome,omitzero"`
	// Busy is true while the task counts as busy.
	Busy bool `json:"busy"`
	// Result is what a GoResult function returned, once it succeeded.
	Result any `json:"result,omitempty"`
	// Err is the latest failure of a live task; for an ended one, why it
	// ended: its last failure (ErrTimeout, ErrHeartbeatMissed, the
	// function's error, ErrPanicked...) or the cause of its cancellation
	// (ErrCancelled, ErrShuttingDown). Nil for a success.
	Err error `json:"-"`
	// Started is when the task started, Ended when it ended (zero while it
	// is live).
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// Attempts counts the runs of its function: 1, plus one per restart;
	// 0 for a task tracked by hand.
	Attempts int `json:"attempts"`
	// Progress is the latest progress it reported, nil if none.
	Progress *TaskProgress `json:"progress,omitempty"`
}

// MarshalJSON encodes the task, with Err as "error": its message.
func (t Task) MarshalJSON() ([]byte, error) {
	type plain Task // without this method
	out := struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain: plain(t)}
	if t.Err != nil {
		out.Error = t.Err.Error()
	}
	return json.Marshal(out)
}

func taskOf(r actors.TaskReport) Task {
	t := Task{ID: TaskID(r.ID), Name: r.Name, Metadata: r.Metadata, Manual: r.Manual, State: TaskState(r.State),
		Outcome: Outcome(r.Outcome), Busy: r.Busy, Result: r.Value, Err: r.Err, Started: r.Started, Ended: r.Ended,
		Attempts: r.Restarts + 1}
	if r.Manual {
		t.Attempts = 0
	}
	if p := r.Progress; p != nil {
		t.Progress = &TaskProgress{Fraction: p.Fraction, Note: p.Note, At: p.At}
	}
	return t
}
