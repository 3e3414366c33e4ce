package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// The bounds of a page of tasks in the debug answers: a tree with 10,000
// live tasks would otherwise be megabytes, every second, for a page that
// shows a screenful.
const (
	// DefaultDebugPageLimit is how many tasks a debug answer holds when the
	// request names no limit.
	DefaultDebugPageLimit = 100
	// MaxDebugPageLimit is the largest limit a debug request may ask for.
	MaxDebugPageLimit = 1000
)

// debugPage is the window of tasks a debug answer shows.
type debugPage struct {
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// parseDebugPage reads ?limit= and ?offset=.
func parseDebugPage(q url.Values) (debugPage, error) {
	p := debugPage{Limit: DefaultDebugPageLimit}
	var err error
	if p.Limit, err = intParam(q, "limit", DefaultDebugPageLimit, 1, MaxDebugPageLimit); err != nil {
		return p, err
	}
	if p.Offset, err = intParam(q, "offset", 0, 0, math.MaxInt); err != nil {
		return p, err
	}
	return p, nil
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, withDetails(ErrInvalidQuery, fmt.Sprintf("%s must be an integer from %d to %d, got %q", name, lo, hi, s))
	}
	return n, nil
}

// window returns the page's slice of items.
func window[T any](items []T, p debugPage) []T {
	lo := min(p.Offset, len(items))
	hi := min(lo+p.Limit, len(items))
	return items[lo:hi]
}

// viewContext is what a view needs besides the tree: the page of tasks, the
// server's clock, and what the status's projection is made of.
type viewContext struct {
	page           debugPage
	now            time.Time
	lastInvocation time.Time     // zero before the first
	idleTimeout    time.Duration // Config.SessionIdleTimeout
	busyAfter      time.Duration // Config.BusyAfter
}

// debugNode is a node of the tree as the debug endpoints show it: the
// supervisor's node, with every field it has now or gains later, plus what
// a reader needs without a clock of its own (durations, the status's age,
// a long request's age, what the platform will do) and, on the task
// supervisor, the counts and the page of its children.
type debugNode struct {
	supervisor.Node
	// The fields below shadow the embedded node's fields of the same JSON
	// name (encoding/json prefers the shallower field).
	Status   *debugStatus  `json:"status,omitempty"`
	Task     *debugTask    `json:"task,omitempty"`
	Request  *debugRequest `json:"request,omitempty"`
	Children []debugNode   `json:"children,omitempty"`
	// TaskCounts and Page are set on the task supervisor only.
	TaskCounts *taskCounts `json:"task_counts,omitempty"`
	Page       *debugPage  `json:"page,omitempty"`
}

// debugStatus is the status actor's node with the time of its last change
// as /ping writes it, its age, and what the platform will do.
type debugStatus struct {
	*supervisor.StatusNode
	TimeOfLastUpdate int64      `json:"time_of_last_update"`
	AgeSeconds       float64    `json:"age_seconds"`
	Projection       projection `json:"projection"`
}

// debugTask is a task actor's node with how long it has run.
type debugTask struct {
	*supervisor.TaskNode
	DurationSeconds float64 `json:"duration_seconds"`
}

// debugRequest is a long request's node with how long it has been held as
// busy (since Started, when it was held) and how long it has been open: it
// was held Config.BusyAfter after it arrived.
type debugRequest struct {
	*supervisor.OpenRequest
	AgeSeconds  float64 `json:"age_seconds"`
	OpenSeconds float64 `json:"open_seconds"`
}

// projection is what the platform will do with the session, as far as the
// agent can tell: with /ping saying Healthy its idle clock runs from the
// later of the last invocation and the last status change
// (time_of_last_update), and it ends the session once that clock reaches
// its idle timeout; with HealthyBusy it holds the session, up to its max
// lifetime. The agent cannot read the platform's timeout: it assumes
// Config.SessionIdleTimeout.
type projection struct {
	IdleTimeoutSeconds float64 `json:"idle_timeout_seconds"`
	// LastInvocation is when the last /invocations or /ws request arrived,
	// left out before the first.
	LastInvocation time.Time `json:"last_invocation,omitzero"`
	// IdleSince, IdleSeconds and EndsAt are set while the status is
	// Healthy: EndsAt may have passed (a longer timeout on the platform, or
	// no platform at all).
	IdleSince   time.Time `json:"idle_since,omitzero"`
	IdleSeconds *float64  `json:"idle_seconds,omitempty"`
	EndsAt      time.Time `json:"ends_at,omitzero"`
	// Sentence says it in words, with times in UTC.
	Sentence string `json:"sentence"`
}

// project tells what the platform will do with a session whose /ping says
// status since since.
func project(status supervisor.Status, since time.Time, v viewContext) projection {
	p := projection{IdleTimeoutSeconds: v.idleTimeout.Seconds(), LastInvocation: v.lastInvocation}
	if status == supervisor.HealthyBusy {
		p.Sentence = fmt.Sprintf("busy since %s (%s ago): the platform keeps this session while /ping says HealthyBusy, up to its max lifetime",
			clock(since), roughDuration(v.now.Sub(since)))
		return p
	}
	p.IdleSince = since
	if v.lastInvocation.After(since) {
		p.IdleSince = v.lastInvocation
	}
	idle := max(v.now.Sub(p.IdleSince), 0)
	seconds := idle.Seconds()
	p.IdleSeconds = &seconds
	p.EndsAt = p.IdleSince.Add(v.idleTimeout)
	if p.EndsAt.After(v.now) {
		p.Sentence = fmt.Sprintf("idle for %s: with an idle timeout of %s the platform ends this session at %s unless work starts",
			roughDuration(idle), roughDuration(v.idleTimeout), clock(p.EndsAt))
	} else {
		p.Sentence = fmt.Sprintf("idle for %s: with an idle timeout of %s the platform would have ended this session at %s; "+
			"it is still running, so the platform's timeout is longer or no platform is watching",
			roughDuration(idle), roughDuration(v.idleTimeout), clock(p.EndsAt))
	}
	return p
}

// clock writes the time of day in UTC, the zone of the platform's logs.
func clock(t time.Time) string {
	return t.UTC().Format("15:04:05 UTC")
}

// roughDuration writes d for people, to the second below an hour and to the
// minute above: 42s, 4m12s, 15m, 2h03m, 8h.
func roughDuration(d time.Duration) string {
	s := int64(max(d, 0).Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600 && s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s/60%60 == 0:
		return fmt.Sprintf("%dh", s/3600)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
}

// taskCounts counts every live task, not only the page's.
type taskCounts struct {
	Total   int            `json:"total"`
	Busy    int            `json:"busy"`
	ByState map[string]int `json:"by_state"`
}

// debugTree is the answer of GET /debug/actors: the root node and the
// server's clock, so that a reader can show ages in its own time zone.
type debugTree struct {
	Now time.Time `json:"now"`
	debugNode
}

// debugTaskList is the answer of GET /debug/tasks: one page of the live
// tasks' nodes (debugNode) or of the kept outcomes (finishedTask).
type debugTaskList[T any] struct {
	Now   time.Time `json:"now"`
	Total int       `json:"total"`
	Page  debugPage `json:"page"`
	Tasks []T       `json:"tasks"`
}

// finishedTask is a kept outcome as the debug endpoints show it: the
// supervisor's Task, with every field it has now or gains later, plus how
// long it ran.
type finishedTask struct {
	task            supervisor.Task
	durationSeconds float64
}

// MarshalJSON is the Task's own JSON with "duration_seconds" added: embedding
// the Task would promote its MarshalJSON and drop the field.
func (f finishedTask) MarshalJSON() ([]byte, error) {
	b, err := f.task.MarshalJSON()
	if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
		return b, err
	}
	b = append(b[:len(b)-1], `,"duration_seconds":`...)
	b = strconv.AppendFloat(b, f.durationSeconds, 'g', -1, 64)
	return append(b, '}'), nil
}

// taskListState is which tasks GET /debug/tasks lists.
type taskListState int

const (
	listLive     taskListState = iota // the live tasks' nodes, the default
	listFinished                      // the kept outcomes of ended tasks
)

// parseTaskListState reads ?state=.
func parseTaskListState(q url.Values) (taskListState, error) {
	switch s := q.Get("state"); s {
	case "", "live":
		return listLive, nil
	case "finished":
		return listFinished, nil
	default:
		return listLive, withDetails(ErrInvalidQuery, fmt.Sprintf("state must be live or finished, got %q", s))
	}
}

// viewTree turns the supervisor's tree into the debug view, with one page
// of tasks under the task supervisor.
func viewTree(root supervisor.Node, v viewContext) debugTree {
	return debugTree{Now: v.now, debugNode: viewNode(root, v)}
}

func viewNode(n supervisor.Node, v viewContext) debugNode {
	d := debugNode{Node: n}
	if n.Status != nil {
		d.Status = viewStatus(n.Status, v)
	}
	if n.Task != nil {
		d.Task = viewTask(n.Task, v.now)
	}
	if n.Request != nil {
		age := v.now.Sub(n.Request.Started)
		d.Request = &debugRequest{OpenRequest: n.Request, AgeSeconds: age.Seconds(), OpenSeconds: (age + v.busyAfter).Seconds()}
	}
	children := n.Children
	if n.Kind == supervisor.KindTaskSupervisor {
		p := v.page
		d.TaskCounts, d.Page = countTasks(children), &p
		children = window(children, p)
	}
	d.Children = make([]debugNode, 0, len(children))
	for _, c := range children {
		d.Children = append(d.Children, viewNode(c, v))
	}
	return d
}

func viewStatus(s *supervisor.StatusNode, v viewContext) *debugStatus {
	return &debugStatus{StatusNode: s, TimeOfLastUpdate: s.Since.Unix(), AgeSeconds: v.now.Sub(s.Since).Seconds(),
		Projection: project(s.Status, s.Since, v)}
}

func viewTask(t *supervisor.TaskNode, now time.Time) *debugTask {
	if m := encodable(t.Metadata); m != nil {
		copied := *t // the node is shared with other readers of the tree
		copied.Metadata = m
		t = &copied
	}
	return &debugTask{TaskNode: t, DurationSeconds: now.Sub(t.Started).Seconds()}
}

// encodable returns a copy of metadata in which every value encoding/json
// cannot encode (NaN, ±Inf, a channel, a function, a MarshalJSON that fails
// or panics) is replaced by a mark, "<unencodable: float64 NaN>": one bad
// value must not make the whole answer a 500 and hide every other task. It
// returns nil when every value encodes.
func encodable(metadata map[string]any) map[string]any {
	var out map[string]any
	for k, v := range metadata {
		if canEncode(v) {
			continue
		}
		if out == nil {
			out = maps.Clone(metadata)
		}
		out[k] = unencodableMark(v)
	}
	return out
}

func canEncode(v any) (ok bool) {
	defer func() {
		if recover() != nil { // a MarshalJSON method that panics
			ok = false
		}
	}()
	_, err := json.Marshal(v)
	return err == nil
}

// unencodableMark names v's type and, where it says something, its value: a
// channel's or a function's value is only an address.
func unencodableMark(v any) string {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return fmt.Sprintf("<unencodable: %T>", v)
	}
	return fmt.Sprintf("<unencodable: %T %v>", v, v)
}

func countTasks(tasks []supervisor.Node) *taskCounts {
	c := &taskCounts{Total: len(tasks), ByState: map[string]int{}}
	for _, n := range tasks {
		if n.Task == nil {
			continue
		}
		c.ByState[n.Task.State.String()]++
		if n.Task.Busy {
			c.Busy++
		}
	}
	return c
}

// liveTasks returns the task actors' nodes of the tree, in start order.
func liveTasks(root supervisor.Node) []supervisor.Node {
	var tasks []supervisor.Node
	for _, c := range root.Children {
		if c.Kind == supervisor.KindTaskSupervisor {
			tasks = append(tasks, c.Children...)
		}
	}
	return tasks
}

// viewTaskList is the flat list of tasks, newest first, one page of it.
func viewTaskList(root supervisor.Node, v viewContext) debugTaskList[debugNode] {
	tasks := liveTasks(root)
	slices.Reverse(tasks) // ids, and so the tree's order, grow with start time
	page := window(tasks, v.page)
	list := debugTaskList[debugNode]{Now: v.now, Total: len(tasks), Page: v.page, Tasks: make([]debugNode, 0, len(page))}
	for _, n := range page {
		list.Tasks = append(list.Tasks, viewNode(n, v))
	}
	return list
}

// viewFinishedList is one page of the kept outcomes, which the supervisor
// gives newest first.
func viewFinishedList(results []supervisor.Task, p debugPage, now time.Time) debugTaskList[finishedTask] {
	page := window(results, p)
	list := debugTaskList[finishedTask]{Now: now, Total: len(results), Page: p, Tasks: make([]finishedTask, 0, len(page))}
	for _, t := range page {
		list.Tasks = append(list.Tasks, viewFinished(t))
	}
	return list
}

// viewFinished shows an ended task, its unencodable metadata values and
// result marked as encodable does.
func viewFinished(t supervisor.Task) finishedTask {
	if m := encodable(t.Metadata); m != nil {
		t.Metadata = m
	}
	if t.Result != nil && !canEncode(t.Result) {
		t.Result = unencodableMark(t.Result)
	}
	return finishedTask{task: t, durationSeconds: t.Ended.Sub(t.Started).Seconds()}
}

// findTask returns the node of the live task id.
func findTask(root supervisor.Node, id supervisor.TaskID) (supervisor.Node, bool) {
	for _, n := range liveTasks(root) {
		if n.Task != nil && n.Task.ID == id {
			return n, true
		}
	}
	return supervisor.Node{}, false
}
