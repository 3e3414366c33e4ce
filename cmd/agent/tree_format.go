package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// treeNode is what `agent tree` reads of a node of GET /debug/actors. It is
// the HTTP API's shape, not the supervisor's types: the tool is a client and
// must keep working when the agent adds fields.
type treeNode struct {
	Kind     string       `json:"kind"`
	PID      string       `json:"pid"`
	State    string       `json:"state"`
	Draining bool         `json:"draining"`
	Status   *treeState   `json:"status"`
	Task     *treeTask    `json:"task"`
	Request  *treeRequest `json:"request"`
	Counts   *struct {
		Total   int            `json:"total"`
		Busy    int            `json:"busy"`
		ByState map[string]int `json:"by_state"`
	} `json:"task_counts"`
	Page *struct {
		Offset int `json:"offset"`
		Limit  int `json:"limit"`
	} `json:"page"`
	// Limits is shown as the agent sends it, whatever it holds.
	Limits   json.RawMessage   `json:"limits"`
	Panics   map[string]uint64 `json:"panics"`
	Children []treeNode        `json:"children"`
}

// treeState is the status actor's part of its node.
type treeState struct {
	Status      string  `json:"status"`
	Forced      string  `json:"forced"`
	Custom      string  `json:"custom"`
	ActiveCount int     `json:"active_count"`
	AgeSeconds  float64 `json:"age_seconds"`
	Projection  struct {
		Sentence string `json:"sentence"`
	} `json:"projection"`
}

// treeRequest is a long request's part of its node: an invocation or a
// WebSocket session held as busy.
type treeRequest struct {
	Method      string  `json:"method"`
	Path        string  `json:"path"`
	SessionID   string  `json:"session_id"`
	RequestID   string  `json:"request_id"`
	AgeSeconds  float64 `json:"age_seconds"`  // held as busy
	OpenSeconds float64 `json:"open_seconds"` // since it arrived
}

// treeTask is a task actor's part of its node.
type treeTask struct {
	ID              uint64         `json:"task_id"`
	Name            string         `json:"name"`
	Metadata        map[string]any `json:"metadata"`
	Manual          bool           `json:"manual"`
	Restarts        int            `json:"restarts"`
	LastError       string         `json:"last_error"`
	Deadline        time.Time      `json:"deadline"`
	DurationSeconds float64        `json:"duration_seconds"`
	Busy            bool           `json:"busy"`
	Progress        *struct {
		Fraction float64 `json:"fraction"`
		Note     string  `json:"note"`
	} `json:"progress"`
}

// treeDoc is the whole answer: the root node and the agent's clock.
type treeDoc struct {
	Now time.Time `json:"now"`
	treeNode
}

// formatTree draws the tree as pstree does, one line per actor, under what
// the platform will do with the session, as the agent says it:
//
//	busy since 14:17:05 UTC (12s ago): the platform keeps this session while /ping says HealthyBusy, up to its max lifetime
//	system 3kP2v running
//	├─status status running: HealthyBusy for 12.0s, 1 active
//	└─task_supervisor tasks running: 1 live task, 1 busy (running 1)
//	  └─task tasks/task-1 running: #1 data_processing 12.0s {"data_id":"x"}
func formatTree(body []byte) (string, error) {
	var doc treeDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("%w: not a tree: %w", errTreeRefused, err)
	}
	var b strings.Builder
	if s := statusOf(doc.treeNode); s != nil && s.Projection.Sentence != "" {
		b.WriteString(s.Projection.Sentence + "\n")
	}
	writeNode(&b, doc.treeNode, doc.Now, "", "")
	return b.String(), nil
}

// statusOf finds the status actor's part of the tree, nil if it is not in
// it.
func statusOf(n treeNode) *treeState {
	if n.Status != nil {
		return n.Status
	}
	for _, c := range n.Children {
		if s := statusOf(c); s != nil {
			return s
		}
	}
	return nil
}

// writeNode writes n's line after lead (the branch drawn for it), then its
// children, each indented by indent.
func writeNode(b *strings.Builder, n treeNode, now time.Time, lead, indent string) {
	fmt.Fprintf(b, "%s%s %s %s", lead, n.Kind, n.PID, n.State)
	if d := details(n, now); d != "" {
		b.WriteString(": " + d)
	}
	b.WriteByte('\n')
	lines := childLines(n)
	for i, c := range lines {
		branch, next := "├─", "│ "
		if i == len(lines)-1 {
			branch, next = "└─", "  "
		}
		if c.node == nil {
			fmt.Fprintf(b, "%s%s%s\n", indent, branch, c.note)
			continue
		}
		writeNode(b, *c.node, now, indent+branch, indent+next)
	}
}

// childLine is a child actor, or a note standing for the tasks left out of
// the page.
type childLine struct {
	node *treeNode
	note string
}

func childLines(n treeNode) []childLine {
	var lines []childLine
	if n.Page != nil && n.Page.Offset > 0 && len(n.Children) > 0 {
		lines = append(lines, childLine{note: fmt.Sprintf("… %d earlier %s (-offset 0)", n.Page.Offset, plural(n.Page.Offset, "task", "tasks"))})
	}
	for i := range n.Children {
		lines = append(lines, childLine{node: &n.Children[i]})
	}
	if n.Counts != nil && n.Page != nil {
		if rest := n.Counts.Total - n.Page.Offset - len(n.Children); rest > 0 && len(n.Children) > 0 {
			lines = append(lines, childLine{note: fmt.Sprintf("… %d more %s (-offset %d)", rest, plural(rest, "task", "tasks"), n.Page.Offset+len(n.Children))})
		}
	}
	return lines
}

// details is the part of a line that depends on the actor's kind.
func details(n treeNode, now time.Time) string {
	switch {
	case n.Status != nil:
		return statusDetails(n.Status)
	case n.Task != nil:
		return taskDetails(n.Task, now)
	case n.Request != nil:
		return requestDetails(n.Request)
	case n.Counts != nil:
		return supervisorDetails(n)
	}
	return systemDetails(n)
}

// systemDetails shows the recovered panics, when there are any.
func systemDetails(n treeNode) string {
	if len(n.Panics) == 0 {
		return ""
	}
	return "recovered panics: " + counts(n.Panics)
}

// counts writes a map of counts as "a 1, b 2", in key order.
func counts[N int | uint64](m map[string]N) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func statusDetails(s *treeState) string {
	parts := []string{fmt.Sprintf("%s for %s, %d active", s.Status, humanSeconds(s.AgeSeconds), s.ActiveCount)}
	if s.Forced != "" {
		parts = append(parts, "forced "+s.Forced)
	}
	if s.Custom != "" {
		parts = append(parts, "custom "+s.Custom)
	}
	return strings.Join(parts, ", ")
}

func supervisorDetails(n treeNode) string {
	c := n.Counts
	s := fmt.Sprintf("%d live %s, %d busy", c.Total, plural(c.Total, "task", "tasks"), c.Busy)
	if len(c.ByState) > 0 {
		s += " (" + counts(c.ByState) + ")"
	}
	if n.Draining {
		s += ", draining"
	}
	if len(n.Limits) > 0 {
		s += ", limits " + string(n.Limits)
	}
	return s
}

func taskDetails(t *treeTask, now time.Time) string {
	parts := []string{fmt.Sprintf("#%d %s %s", t.ID, t.Name, humanSeconds(t.DurationSeconds))}
	if t.Manual {
		parts = append(parts, "manual")
	}
	if !t.Busy {
		parts = append(parts, "not busy")
	}
	if t.Restarts > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", t.Restarts, plural(t.Restarts, "restart", "restarts")))
	}
	if t.LastError != "" {
		parts = append(parts, fmt.Sprintf("last error %q", t.LastError))
	}
	if !t.Deadline.IsZero() {
		parts = append(parts, "deadline "+untilDeadline(t.Deadline.Sub(now)))
	}
	if p := t.Progress; p != nil {
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%.0f%% %s", p.Fraction*100, p.Note)))
	}
	s := strings.Join(parts, ", ")
	if len(t.Metadata) > 0 {
		meta, _ := json.Marshal(t.Metadata) // decoded from JSON: it encodes
		s += " " + string(meta)
	}
	return s
}

// requestDetails answers "why is it busy?" for a long request.
func requestDetails(r *treeRequest) string {
	parts := []string{fmt.Sprintf("%s %s open %s, busy %s", r.Method, r.Path, humanSeconds(r.OpenSeconds), humanSeconds(r.AgeSeconds))}
	if r.SessionID != "" {
		parts = append(parts, "session "+r.SessionID)
	}
	if r.RequestID != "" {
		parts = append(parts, "request "+r.RequestID)
	}
	return strings.Join(parts, ", ")
}

func untilDeadline(d time.Duration) string {
	if d < 0 {
		return "passed " + humanSeconds(-d.Seconds()) + " ago"
	}
	return "in " + humanSeconds(d.Seconds())
}

// humanSeconds writes a duration for people: 0.3s, 12.0s, 1m05s, 2h03m.
func humanSeconds(s float64) string {
	switch {
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
