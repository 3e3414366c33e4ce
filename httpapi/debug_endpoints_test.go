package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// The debug answers as a client reads them (black-box: the JSON, not the
// server's types).
type (
	treeJSON struct {
		Now time.Time `json:"now"`
		nodeJSON
	}
	nodeJSON struct {
		Kind       string       `json:"kind"`
		PID        string       `json:"pid"`
		State      string       `json:"state"`
		Draining   bool         `json:"draining"`
		Status     *statusJSON  `json:"status"`
		Task       *taskJSON    `json:"task"`
		Request    *requestJSON `json:"request"`
		TaskCounts *countsJSON  `json:"task_counts"`
		Page       *pageJSON    `json:"page"`
		Children   []nodeJSON   `json:"children"`
	}
	statusJSON struct {
		Status           string    `json:"status"`
		Since            time.Time `json:"since"`
		Forced           string    `json:"forced"`
		ActiveCount      int       `json:"active_count"`
		TimeOfLastUpdate int64     `json:"time_of_last_update"`
		AgeSeconds       float64   `json:"age_seconds"`
		History          []struct {
			At   time.Time `json:"at"`
			From string    `json:"from"`
			To   string    `json:"to"`
			Why  string    `json:"why"`
		} `json:"history"`
		Projection projectionJSON `json:"projection"`
	}
	projectionJSON struct {
		IdleTimeoutSeconds float64   `json:"idle_timeout_seconds"`
		LastInvocation     time.Time `json:"last_invocation"`
		IdleSince          time.Time `json:"idle_since"`
		IdleSeconds        *float64  `json:"idle_seconds"`
		EndsAt             time.Time `json:"ends_at"`
		Sentence           string    `json:"sentence"`
	}
	requestJSON struct {
		ID          uint64    `json:"id"`
		Method      string    `json:"method"`
		Path        string    `json:"path"`
		SessionID   string    `json:"session_id"`
		RequestID   string    `json:"request_id"`
		Started     time.Time `json:"started"`
		AgeSeconds  float64   `json:"age_seconds"`
		OpenSeconds float64   `json:"open_seconds"`
	}
	taskJSON struct {
		ID              uint64         `json:"task_id"`
		Name            string         `json:"name"`
		Metadata        map[string]any `json:"metadata"`
		Manual          bool           `json:"manual"`
		State           string         `json:"state"`
		Started         time.Time      `json:"started"`
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
	countsJSON struct {
		Total   int            `json:"total"`
		Busy    int            `json:"busy"`
		ByState map[string]int `json:"by_state"`
	}
	pageJSON struct {
		Offset int `json:"offset"`
		Limit  int `json:"limit"`
	}
	taskListJSON struct {
		Now   time.Time  `json:"now"`
		Total int        `json:"total"`
		Page  pageJSON   `json:"page"`
		Tasks []nodeJSON `json:"tasks"`
	}
	jobStatusJSON struct {
		ActiveCount int `json:"active_count"`
		RunningJobs []struct {
			Name string `json:"name"`
		} `json:"running_jobs"`
	}
)

// mustDebugServer serves a server in debug mode with a supervisor of its
// own, whose shutdown at the test's end cancels at once the tasks the test
// left running (mustSupervisor's would wait for them).
func mustDebugServer(tb testing.TB) (*supervisor.Supervisor, string) {
	tb.Helper()
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = sup.Shutdown(ctx) // ErrTasksCut: the point
	})
	_, base := mustServe(tb, httpapi.Config{Supervisor: sup, Debug: true})
	return sup, base
}

// getJSON GETs url, wants 200 and decodes the body into v.
func getJSON(tb testing.TB, url string, v any) {
	tb.Helper()
	got := do(tb, http.MethodGet, url, "", nil)
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/json" {
		tb.Fatalf("GET %s: %d %q %s", url, got.status, got.header.Get("Content-Type"), got.body)
	}
	if err := json.Unmarshal([]byte(got.body), v); err != nil {
		tb.Fatalf("GET %s: %v in %s", url, err, got.body)
	}
}

func getTree(tb testing.TB, base, query string) treeJSON {
	tb.Helper()
	var tree treeJSON
	getJSON(tb, base+"/debug/actors"+query, &tree)
	return tree
}

// child returns the child of n of kind, failing the test without one.
func child(tb testing.TB, n nodeJSON, kind string) nodeJSON {
	tb.Helper()
	for _, c := range n.Children {
		if c.Kind == kind {
			return c
		}
	}
	tb.Fatalf("no %s node under %s %s", kind, n.Kind, n.PID)
	return nodeJSON{}
}

// liveTask returns the task's node from GET /debug/tasks/{id}, or false
// for a 404 or an ended task's kept outcome (no node: state "over").
func liveTask(tb testing.TB, base string, id supervisor.TaskID) (nodeJSON, bool) {
	tb.Helper()
	got := do(tb, http.MethodGet, fmt.Sprintf("%s/debug/tasks/%d", base, id), "", nil)
	if got.status == http.StatusNotFound {
		return nodeJSON{}, false
	}
	var n nodeJSON
	if got.status != http.StatusOK || json.Unmarshal([]byte(got.body), &n) != nil {
		tb.Fatalf("GET task %d: %d %s", id, got.status, got.body)
	}
	if n.State == "over" && n.Kind == "" {
		return nodeJSON{}, false
	}
	return n, true
}

// blockUntilCancelled is a task that runs until it is cancelled.
func blockUntilCancelled(ctx context.Context) error {
	<-ctx.Done()
	return context.Cause(ctx)
}

func TestDebugEndpointsOnlyInDebugMode(t *testing.T) {
	paths := []struct{ method, path string }{
		{"GET", "/debug/"},
		{"GET", "/debug"},
		{"GET", "/debug/actors"},
		{"GET", "/debug/tasks"},
		{"GET", "/debug/tasks/1"},
		{"POST", "/debug/tasks/1/cancel"},
	}
	tests := []struct {
		name      string
		debug     bool
		wantFound bool // a debug answer rather than the unknown path's 404
		wantWarn  bool // the "debug mode is on" warning was logged
	}{
		{"off", false, false, false},
		{"on", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			_, base := mustServe(t, httpapi.Config{Debug: tt.debug, Logger: logs.logger(zerolog.InfoLevel)})
			for _, p := range paths {
				// With debug on, the unknown task 1 is a 404 too, but not
				// the router's.
				got := do(t, p.method, base+p.path, "", nil)
				unknownPath := got.status == http.StatusNotFound && got.body == `{"error":"Not Found"}`
				if unknownPath == tt.wantFound {
					t.Errorf("%s %s: %d %s, want found=%v", p.method, p.path, got.status, got.body, tt.wantFound)
				}
			}
			if warned := strings.Contains(logs.String(), `"level":"warn"`) && strings.Contains(logs.String(), "debug mode is on"); warned != tt.wantWarn {
				t.Errorf("warning logged: %v, want %v\n%s", warned, tt.wantWarn, logs.String())
			}
		})
	}
	t.Run("off: the action key is an ordinary payload key", func(t *testing.T) {
		_, base := mustServe(t, httpapi.Config{
			Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) { return req.Payload, nil },
		})
		const payload = `{"_agent_core_app_action": "job_status"}`
		if got := post(t, base, payload); got.status != 200 || got.body != payload {
			t.Fatalf("got %d %s", got.status, got.body)
		}
	})
}

// knownTasks starts one task in each situation the tree must show, and
// waits until each is there.
type knownTasks struct {
	running, progressing, restarted, abandoned, manual, finished supervisor.TaskID
}

func startKnownTasks(t *testing.T, sup *supervisor.Supervisor, base string) knownTasks {
	t.Helper()
	var k knownTasks
	var err error
	if k.running, err = sup.Go("runner", map[string]any{"n": 1}, blockUntilCancelled, supervisor.WithTimeout(time.Hour)); err != nil {
		t.Fatal(err)
	}
	k.progressing, err = sup.Go("progressing", nil, func(ctx context.Context) error {
		if err := supervisor.Progress(ctx, 0.42, "step 3"); err != nil {
			return err
		}
		return blockUntilCancelled(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int32
	k.restarted, err = sup.Go("flaky", nil, func(ctx context.Context) error {
		if failures.Add(1) <= 2 {
			return errors.New("boom")
		}
		return blockUntilCancelled(ctx)
	}, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 5, InitialBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the supervisor's shutdown: cleanups run last first
	started := make(chan struct{})
	k.abandoned, err = sup.Go("stubborn", nil, func(context.Context) error { close(started); <-release; return nil },
		supervisor.WithCancelGrace(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	<-started // a task cancelled before its function runs ends cancelled, not abandoned
	k.manual = sup.AddAsyncTask("by hand", map[string]any{"note": "x"})
	if k.finished, err = sup.Go("quick", nil, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !sup.Cancel(k.abandoned) {
		t.Fatal("cancel the stubborn task")
	}
	testkit.Eventually(t, "the progress report", func() bool {
		n, ok := liveTask(t, base, k.progressing)
		return ok && n.Task.Progress != nil
	})
	testkit.Eventually(t, "the flaky task restarted twice", func() bool {
		n, ok := liveTask(t, base, k.restarted)
		return ok && n.Task.Restarts == 2 && n.State == "running"
	})
	testkit.Eventually(t, "the stubborn task abandoned", func() bool {
		n, ok := liveTask(t, base, k.abandoned)
		return ok && n.State == "abandoned"
	})
	testkit.Eventually(t, "the quick task gone", func() bool {
		_, ok := liveTask(t, base, k.finished)
		return !ok
	})
	return k
}

func TestDebugActorsTree(t *testing.T) {
	sup, base := mustDebugServer(t)
	k := startKnownTasks(t, sup, base)
	tree := getTree(t, base, "")

	if tree.Kind != "system" || tree.State != "running" || tree.PID == "" || time.Since(tree.Now) > time.Minute {
		t.Fatalf("root: %+v", tree.nodeJSON)
	}
	status := child(t, tree.nodeJSON, "status")
	if s := status.Status; s == nil || s.Status != "HealthyBusy" || s.ActiveCount != 4 || s.TimeOfLastUpdate != s.Since.Unix() || s.AgeSeconds < 0 {
		t.Fatalf("status node: %+v", status.Status)
	}
	tasks := child(t, tree.nodeJSON, "task_supervisor")
	if c := tasks.TaskCounts; c == nil || c.Total != 5 || c.Busy != 4 || c.ByState["running"] != 4 || c.ByState["abandoned"] != 1 {
		t.Fatalf("task counts: %+v", tasks.TaskCounts)
	}
	byID := map[uint64]*taskJSON{}
	var ids []uint64
	for _, n := range tasks.Children {
		if n.Kind != "task" || n.Task == nil || n.PID == "" || n.State != n.Task.State {
			t.Fatalf("task node: %+v", n)
		}
		byID[n.Task.ID] = n.Task
		ids = append(ids, n.Task.ID)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("tasks not in start order: %v", ids)
	}
	tests := []struct {
		name  string
		id    supervisor.TaskID
		check func(*taskJSON) bool
	}{
		{"running, with a deadline and metadata", k.running, func(x *taskJSON) bool {
			return x.Name == "runner" && x.State == "running" && x.Busy && x.Metadata["n"] == 1.0 &&
				x.Deadline.After(x.Started) && x.DurationSeconds >= 0 && !x.Manual && x.Progress == nil
		}},
		{"reporting progress", k.progressing, func(x *taskJSON) bool {
			return x.Progress != nil && x.Progress.Fraction == 0.42 && x.Progress.Note == "step 3" && x.Busy
		}},
		{"restarted twice", k.restarted, func(x *taskJSON) bool {
			return x.State == "running" && x.Restarts == 2 && x.LastError == "boom" && x.Busy && x.Deadline.IsZero()
		}},
		{"abandoned: live but not busy", k.abandoned, func(x *taskJSON) bool { return x.State == "abandoned" && !x.Busy }},
		{"manual", k.manual, func(x *taskJSON) bool { return x.Manual && x.Busy && x.Metadata["note"] == "x" }},
		{"finished: gone", k.finished, func(x *taskJSON) bool { return x == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if x := byID[uint64(tt.id)]; !tt.check(x) {
				t.Fatalf("task %d: %+v", tt.id, x)
			}
		})
	}
	t.Run("consistent with job_status", func(t *testing.T) {
		var jobs jobStatusJSON
		if got := post(t, base, `{"_agent_core_app_action": "job_status"}`); json.Unmarshal([]byte(got.body), &jobs) != nil {
			t.Fatalf("job_status: %s", got.body)
		}
		var busyNames, jobNames []string
		for _, n := range tasks.Children {
			if n.Task.Busy {
				busyNames = append(busyNames, n.Task.Name)
			}
		}
		for _, j := range jobs.RunningJobs {
			jobNames = append(jobNames, j.Name)
		}
		if jobs.ActiveCount != status.Status.ActiveCount || jobs.ActiveCount != tasks.TaskCounts.Busy || !slices.Equal(busyNames, jobNames) {
			t.Fatalf("job_status %d %v; tree: status %d, busy %d %v", jobs.ActiveCount, jobNames,
				status.Status.ActiveCount, tasks.TaskCounts.Busy, busyNames)
		}
	})
}

func TestDebugForcedStatusInTree(t *testing.T) {
	_, base := mustDebugServer(t)
	post(t, base, `{"_agent_core_app_action": "force_busy"}`)
	if s := child(t, getTree(t, base, "").nodeJSON, "status").Status; s.Status != "HealthyBusy" || s.Forced != "HealthyBusy" || s.ActiveCount != 0 {
		t.Fatalf("forced: %+v", s)
	}
	post(t, base, `{"_agent_core_app_action": "clear_forced_status"}`)
	if s := child(t, getTree(t, base, "").nodeJSON, "status").Status; s.Status != "Healthy" || s.Forced != "" {
		t.Fatalf("cleared: %+v", s)
	}
}

// TestDebugTreeShowsSupervisorFields: what the supervisor adds to its nodes
// reaches the JSON without a change in httpapi.
func TestDebugTreeShowsSupervisorFields(t *testing.T) {
	sup, err := supervisor.New(supervisor.Config{Limits: supervisor.Limits{MaxTasks: 5}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sup.Shutdown(context.Background()) })
	_, base := mustServe(t, httpapi.Config{Supervisor: sup, Debug: true})
	if got := do(t, http.MethodGet, base+"/debug/actors", "", nil); !strings.Contains(got.body, `"limits":{"max_tasks":5,"active":0}`) {
		t.Fatalf("no limits in %s", got.body)
	}
}

// addManualTasks tracks n tasks by hand, from a few goroutines, and returns
// their ids in start order.
func addManualTasks(tb testing.TB, sup *supervisor.Supervisor, n int) []supervisor.TaskID {
	tb.Helper()
	ids := make([]supervisor.TaskID, n)
	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				ids[i] = sup.AddAsyncTask("bulk", nil)
			}
		})
	}
	wg.Wait()
	slices.Sort(ids)
	if ids[0] == 0 {
		tb.Fatal("a task was not tracked")
	}
	return ids
}

func TestDebugPagination(t *testing.T) {
	sup, base := mustDebugServer(t)
	ids := addManualTasks(t, sup, 250)
	newest := slices.Clone(ids)
	slices.Reverse(newest)
	tests := []struct {
		name       string
		query      string
		wantOffset int
		wantLimit  int
		wantIDs    []supervisor.TaskID // the tree's page; /debug/tasks wants the same window of newest
	}{
		{"default limit", "", 0, 100, ids[:100]},
		{"second page", "?offset=100", 100, 100, ids[100:200]},
		{"last, short page", "?limit=10&offset=245", 245, 10, ids[245:]},
		{"past the end", "?offset=1000", 1000, 100, nil},
		{"the largest limit", "?limit=1000", 0, 1000, ids},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tasks := child(t, getTree(t, base, tt.query).nodeJSON, "task_supervisor")
			if tasks.Page == nil || tasks.Page.Offset != tt.wantOffset || tasks.Page.Limit != tt.wantLimit || tasks.TaskCounts.Total != 250 {
				t.Fatalf("tree page %+v counts %+v", tasks.Page, tasks.TaskCounts)
			}
			if got := nodeIDs(tasks.Children); !slices.Equal(got, tt.wantIDs) {
				t.Fatalf("tree ids %v, want %v", got, tt.wantIDs)
			}
			var list taskListJSON
			getJSON(t, base+"/debug/tasks"+tt.query, &list)
			lo := min(tt.wantOffset, len(newest))
			if want := newest[lo : lo+len(tt.wantIDs)]; !slices.Equal(nodeIDs(list.Tasks), want) || list.Total != 250 || list.Page.Offset != tt.wantOffset {
				t.Fatalf("list: total %d page %+v ids %v, want %v", list.Total, list.Page, nodeIDs(list.Tasks), want)
			}
		})
	}
	bad := []string{"?limit=0", "?limit=1001", "?limit=x", "?offset=-1", "?offset=1.5"}
	for _, q := range bad {
		t.Run("invalid "+q, func(t *testing.T) {
			for _, path := range []string{"/debug/actors", "/debug/tasks"} {
				got := do(t, http.MethodGet, base+path+q, "", nil)
				if got.status != http.StatusBadRequest || !strings.HasPrefix(got.body, `{"error":"Invalid query","details":"`) {
					t.Fatalf("%s%s: %d %s", path, q, got.status, got.body)
				}
			}
		})
	}
}

func nodeIDs(nodes []nodeJSON) []supervisor.TaskID {
	var ids []supervisor.TaskID
	for _, n := range nodes {
		ids = append(ids, supervisor.TaskID(n.Task.ID))
	}
	return ids
}

// TestDebugTenThousandTasks pins the bound: with 10,000 live tasks the tree
// answer holds one page, small enough to fetch every second.
func TestDebugTenThousandTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 actors: skipped with -short")
	}
	sup, base := mustDebugServer(t)
	addManualTasks(t, sup, 10_000)
	got := do(t, http.MethodGet, base+"/debug/actors", "", nil)
	var tree treeJSON
	if err := json.Unmarshal([]byte(got.body), &tree); err != nil {
		t.Fatal(err)
	}
	tasks := child(t, tree.nodeJSON, "task_supervisor")
	if len(tasks.Children) != 100 || tasks.TaskCounts.Total != 10_000 || tasks.TaskCounts.Busy != 10_000 {
		t.Fatalf("%d tasks shown, counts %+v", len(tasks.Children), tasks.TaskCounts)
	}
	if len(got.body) > 100_000 {
		t.Fatalf("the default answer is %d bytes: the page is not bounded", len(got.body))
	}
}

func TestDebugTaskEndpoints(t *testing.T) {
	sup, base := mustDebugServer(t)
	id, err := sup.Go("runner", nil, blockUntilCancelled)
	if err != nil {
		t.Fatal(err)
	}
	task := fmt.Sprintf("/debug/tasks/%d", id)
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantBody   string // a regexp of the whole body
		wantAllow  string
	}{
		{"one task", "GET", task, 200, fmt.Sprintf(`^\{"kind":"task","pid":"[^"]+","state":"running","task":\{"task_id":%d,"name":"runner",.*"busy":true.*\}\}$`, id), ""},
		{"unknown id", "GET", "/debug/tasks/999999999", 404, `^\{"error":"Task not found","details":"no live or kept task 999999999"\}$`, ""},
		{"non-numeric id", "GET", "/debug/tasks/abc", 400, `^\{"error":"Invalid task id","details":"\\"abc\\" is not a task id \(a positive integer\)"\}$`, ""},
		{"zero id", "GET", "/debug/tasks/0", 400, `^\{"error":"Invalid task id",`, ""},
		{"cancel unknown", "POST", "/debug/tasks/999999999/cancel", 404, `^\{"error":"Task not found","details":"no live or kept task 999999999"\}$`, ""},
		{"cancel non-numeric", "POST", "/debug/tasks/x/cancel", 400, `^\{"error":"Invalid task id",`, ""},
		{"cancel by GET", "GET", task + "/cancel", 405, `^\{"error":"Method Not Allowed"\}$`, "POST"},
		{"delete a task", "DELETE", task, 405, `^\{"error":"Method Not Allowed"\}$`, "GET"},
		{"post the tree", "POST", "/debug/actors", 405, `^\{"error":"Method Not Allowed"\}$`, "GET"},
		{"post the list", "POST", "/debug/tasks", 405, `^\{"error":"Method Not Allowed"\}$`, "GET"},
		{"post the page", "POST", "/debug/", 405, `^\{"error":"Method Not Allowed"\}$`, "GET"},
		{"unknown debug path", "GET", "/debug/nope", 404, `^\{"error":"Not Found"\}$`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, tt.method, base+tt.path, "", nil)
			if got.status != tt.wantStatus || !regexp.MustCompile(tt.wantBody).MatchString(got.body) || got.header.Get("Allow") != tt.wantAllow {
				t.Fatalf("got %d %s Allow %q, want %d %s Allow %q", got.status, got.body, got.header.Get("Allow"), tt.wantStatus, tt.wantBody, tt.wantAllow)
			}
		})
	}
	if n, ok := liveTask(t, base, id); !ok || n.State != "running" {
		t.Fatalf("the task was touched by the failed calls: %+v", n)
	}
}

func TestDebugCancel(t *testing.T) {
	sup, base := mustDebugServer(t)
	cancelURL := func(id supervisor.TaskID) string { return fmt.Sprintf("%s/debug/tasks/%d/cancel", base, id) }
	id, err := sup.Go("runner", nil, blockUntilCancelled)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("another origin is refused", func(t *testing.T) {
		got := do(t, http.MethodPost, cancelURL(id), "", http.Header{"Origin": {"http://evil.example"}})
		if got.status != http.StatusForbidden || !strings.HasPrefix(got.body, `{"error":"Cross-origin request refused"`) {
			t.Fatalf("got %d %s", got.status, got.body)
		}
		if _, ok := liveTask(t, base, id); !ok {
			t.Fatal("the task was cancelled anyway")
		}
	})
	t.Run("cancel a running task", func(t *testing.T) {
		origin := http.Header{"Origin": {base}} // the debug page's own origin
		got := do(t, http.MethodPost, cancelURL(id), "", origin)
		if want := fmt.Sprintf(`{"task_id":%d,"cancelled":true}`, id); got.status != 200 || got.body != want {
			t.Fatalf("got %d %s, want %s", got.status, got.body, want)
		}
		testkit.Eventually(t, "the task gone and Healthy", func() bool {
			_, live := liveTask(t, base, id)
			return !live && sup.PingStatus().Status == supervisor.Healthy
		})
	})
	t.Run("cancel it again", func(t *testing.T) {
		got := do(t, http.MethodPost, cancelURL(id), "", nil)
		if want := fmt.Sprintf(`{"error":"Task not cancellable","details":"task %d is over (cancelled)"}`, id); got.status != http.StatusConflict || got.body != want {
			t.Fatalf("got %d %s, want 409 %s", got.status, got.body, want)
		}
	})
	t.Run("an abandoned task cannot be cancelled", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		stubborn, err := sup.Go("stubborn", nil, func(context.Context) error { <-release; return nil }, supervisor.WithCancelGrace(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if got := do(t, http.MethodPost, cancelURL(stubborn), "", nil); got.status != 200 {
			t.Fatalf("first cancel: %d %s", got.status, got.body)
		}
		testkit.Eventually(t, "abandoned", func() bool { n, ok := liveTask(t, base, stubborn); return ok && n.State == "abandoned" })
		got := do(t, http.MethodPost, cancelURL(stubborn), "", nil)
		if want := fmt.Sprintf(`{"error":"Task not cancellable","details":"task %d is abandoned"}`, stubborn); got.status != http.StatusConflict || got.body != want {
			t.Fatalf("got %d %s, want 409 %s", got.status, got.body, want)
		}
	})
}

func TestDebugPageIsSelfContained(t *testing.T) {
	_, base := mustServe(t, httpapi.Config{Debug: true})
	got := do(t, http.MethodGet, base+"/debug/", "", nil)
	if got.status != 200 || got.header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(got.body, "<script>") {
		t.Fatalf("got %d %q", got.status, got.header.Get("Content-Type"))
	}
	if csp := got.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none';") {
		t.Fatalf("CSP %q does not refuse external assets", csp)
	}
	if m := regexp.MustCompile(`(?i)https?://|\bsrc\s*=|@import|url\(`).FindString(got.body); m != "" {
		t.Fatalf("the page refers to an external asset: %q", m)
	}
	for _, m := range regexp.MustCompile(`(?i)\bhref\s*=\s*["']?([^"'\s>]*)`).FindAllStringSubmatch(got.body, -1) {
		if !strings.HasPrefix(m[1], "data:") {
			t.Fatalf("the page links to %q", m[1])
		}
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(base + "/debug")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/debug/" {
		t.Fatalf("/debug: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestDebugReadsAreQuiet: the page and `agent tree -watch` read the tree
// every second, so, like /ping, their reads are logged at debug level only.
func TestDebugReadsAreQuiet(t *testing.T) {
	tests := []struct {
		name    string
		debug   bool
		method  string
		path    string
		wantLog bool // an info-level request line
	}{
		{"tree read", true, "GET", "/debug/actors", false},
		{"page read", true, "GET", "/debug/", false},
		{"cancel is a command", true, "POST", "/debug/tasks/999999999/cancel", true},
		{"a bad query is logged", true, "GET", "/debug/tasks?limit=0", true},
		{"debug off: an unknown path", false, "GET", "/debug/actors", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logBuffer
			_, base := mustServe(t, httpapi.Config{Debug: tt.debug, Logger: logs.logger(zerolog.InfoLevel)})
			do(t, tt.method, base+tt.path, "", nil)
			path, _, _ := strings.Cut(tt.path, "?")
			if logged := requestLine(logs.String(), path) != ""; logged != tt.wantLog {
				t.Fatalf("logged %v, want %v:\n%s", logged, tt.wantLog, logs.String())
			}
		})
	}
}

// One task whose metadata JSON cannot encode does not hide the others: its
// unencodable values are shown as marks, the rest as they are.
func TestDebugUnencodableMetadata(t *testing.T) {
	sup, base := mustDebugServer(t)
	bad := sup.AddAsyncTask("bad", map[string]any{
		"ok":     1,
		"nan":    math.NaN(),
		"inf":    math.Inf(1),
		"ch":     make(chan int),
		"fn":     func() {},
		"nested": map[string]any{"x": math.NaN()},
	})
	good := sup.AddAsyncTask("good", map[string]any{"data_id": "x"})
	want := map[string]any{
		"ok":     1.0,
		"nan":    "<unencodable: float64 NaN>",
		"inf":    "<unencodable: float64 +Inf>",
		"ch":     "<unencodable: chan int>",
		"fn":     "<unencodable: func()>",
		"nested": "<unencodable: map[string]interface {} map[x:NaN]>",
	}
	check := func(where string, nodes []nodeJSON) {
		t.Helper()
		seen := map[supervisor.TaskID]bool{}
		for _, n := range nodes {
			id := supervisor.TaskID(n.Task.ID)
			seen[id] = true
			if id == bad && !reflect.DeepEqual(n.Task.Metadata, want) {
				t.Errorf("%s: bad task's metadata %v, want %v", where, n.Task.Metadata, want)
			}
		}
		if !seen[bad] || !seen[good] {
			t.Errorf("%s: tasks %v, want %d and %d", where, seen, bad, good)
		}
	}
	check("/debug/actors", child(t, getTree(t, base, "").nodeJSON, "task_supervisor").Children)
	var list taskListJSON
	getJSON(t, base+"/debug/tasks", &list)
	check("/debug/tasks", list.Tasks)
	if n, ok := liveTask(t, base, bad); ok {
		check("/debug/tasks/{id}", []nodeJSON{n, {Task: &taskJSON{ID: uint64(good)}}})
	}
}

// finishedJSON is a kept outcome as GET /debug/tasks?state=finished and
// GET /debug/tasks/{id} show it.
type finishedJSON struct {
	ID              uint64         `json:"task_id"`
	Name            string         `json:"name"`
	Metadata        map[string]any `json:"metadata"`
	Manual          bool           `json:"manual"`
	State           string         `json:"state"`
	Outcome         string         `json:"outcome"`
	Busy            bool           `json:"busy"`
	Result          any            `json:"result"`
	Started         time.Time      `json:"started"`
	Ended           time.Time      `json:"ended"`
	Attempts        int            `json:"attempts"`
	Error           string         `json:"error"`
	DurationSeconds float64        `json:"duration_seconds"`
}

type finishedListJSON struct {
	Now   time.Time      `json:"now"`
	Total int            `json:"total"`
	Page  pageJSON       `json:"page"`
	Tasks []finishedJSON `json:"tasks"`
}

// endOver waits until task id is over, as the supervisor reports it.
func endOver(tb testing.TB, sup *supervisor.Supervisor, id supervisor.TaskID) {
	tb.Helper()
	testkit.Eventually(tb, fmt.Sprintf("task %d over", id), func() bool {
		t, ok := sup.Task(id)
		return ok && t.State == supervisor.StateOver
	})
}

// endedTasks ends one task of each outcome the page shows, one after the
// other, and returns their ids in the order they ended.
func endedTasks(t *testing.T, sup *supervisor.Supervisor) (succeeded, failed, cancelled, completed, unencodable supervisor.TaskID) {
	t.Helper()
	var err error
	if succeeded, err = supervisor.GoResult(sup, "sum", map[string]any{"of": "a,b"}, func(context.Context) (map[string]int, error) {
		return map[string]int{"total": 3}, nil
	}); err != nil {
		t.Fatal(err)
	}
	endOver(t, sup, succeeded)
	if failed, err = sup.Go("fetch", nil, func(context.Context) error { return errors.New("connection reset") }); err != nil {
		t.Fatal(err)
	}
	endOver(t, sup, failed)
	if cancelled, err = sup.Go("wait", nil, blockUntilCancelled); err != nil {
		t.Fatal(err)
	}
	if !sup.Cancel(cancelled) {
		t.Fatal("cancel")
	}
	endOver(t, sup, cancelled)
	completed = sup.AddAsyncTask("by hand", map[string]any{"note": "x"})
	if !sup.CompleteAsyncTask(completed) {
		t.Fatal("complete")
	}
	endOver(t, sup, completed)
	if unencodable, err = supervisor.GoResult(sup, "nan", map[string]any{"bad": math.Inf(-1)}, func(context.Context) (float64, error) {
		return math.NaN(), nil
	}); err != nil {
		t.Fatal(err)
	}
	endOver(t, sup, unencodable)
	return
}

func TestDebugFinishedTasks(t *testing.T) {
	sup, base := mustDebugServer(t)
	live, err := sup.Go("still running", nil, blockUntilCancelled)
	if err != nil {
		t.Fatal(err)
	}
	succeeded, failed, cancelled, completed, unencodable := endedTasks(t, sup)
	newestFirst := []supervisor.TaskID{unencodable, completed, cancelled, failed, succeeded}

	var list finishedListJSON
	getJSON(t, base+"/debug/tasks?state=finished", &list)
	if list.Total != 5 || list.Page != (pageJSON{Offset: 0, Limit: 100}) || time.Since(list.Now) > time.Minute {
		t.Fatalf("envelope: total %d page %+v now %v", list.Total, list.Page, list.Now)
	}
	var ids []supervisor.TaskID
	byID := map[supervisor.TaskID]finishedJSON{}
	for _, f := range list.Tasks {
		ids = append(ids, supervisor.TaskID(f.ID))
		byID[supervisor.TaskID(f.ID)] = f
	}
	if !slices.Equal(ids, newestFirst) {
		t.Fatalf("finished ids %v, want newest first %v (the live task %d not among them)", ids, newestFirst, live)
	}
	tests := []struct {
		name  string
		id    supervisor.TaskID
		check func(f finishedJSON) bool
	}{
		{"succeeded, with its result", succeeded, func(f finishedJSON) bool {
			return f.Outcome == "succeeded" && f.Name == "sum" && f.Metadata["of"] == "a,b" &&
				reflect.DeepEqual(f.Result, map[string]any{"total": 3.0}) && f.Error == "" && f.Attempts == 1
		}},
		{"failed, with its error", failed, func(f finishedJSON) bool {
			return f.Outcome == "failed" && f.Error == "connection reset" && f.Result == nil
		}},
		{"cancelled", cancelled, func(f finishedJSON) bool {
			return f.Outcome == "cancelled" && f.Error == supervisor.ErrCancelled.Error()
		}},
		{"completed by hand", completed, func(f finishedJSON) bool {
			return f.Outcome == "completed" && f.Manual && f.Attempts == 0 && f.Metadata["note"] == "x"
		}},
		{"unencodable result and metadata, marked", unencodable, func(f finishedJSON) bool {
			return f.Outcome == "succeeded" && f.Result == "<unencodable: float64 NaN>" &&
				f.Metadata["bad"] == "<unencodable: float64 -Inf>"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := byID[tt.id]
			if f.State != "over" || f.Busy || f.Ended.Before(f.Started) || f.Started.IsZero() ||
				math.Abs(f.DurationSeconds-f.Ended.Sub(f.Started).Seconds()) > 1e-6 || !tt.check(f) {
				t.Fatalf("task %d: %+v", tt.id, f)
			}
			// The task's own endpoint answers the list's object, byte for byte.
			one := do(t, http.MethodGet, fmt.Sprintf("%s/debug/tasks/%d", base, tt.id), "", nil)
			item := itemOf(t, base+"/debug/tasks?state=finished", tt.id)
			if one.status != http.StatusOK || one.body != item {
				t.Fatalf("GET /debug/tasks/%d: %d %s\nthe list has %s", tt.id, one.status, one.body, item)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		var page finishedListJSON
		getJSON(t, base+"/debug/tasks?state=finished&limit=2&offset=1", &page)
		var got []supervisor.TaskID
		for _, f := range page.Tasks {
			got = append(got, supervisor.TaskID(f.ID))
		}
		if !slices.Equal(got, newestFirst[1:3]) || page.Total != 5 || page.Page != (pageJSON{Offset: 1, Limit: 2}) {
			t.Fatalf("page: total %d %+v ids %v, want %v", page.Total, page.Page, got, newestFirst[1:3])
		}
	})
	t.Run("state=live is the default", func(t *testing.T) {
		for _, q := range []string{"", "?state=live"} {
			var l taskListJSON
			getJSON(t, base+"/debug/tasks"+q, &l)
			if l.Total != 1 || len(l.Tasks) != 1 || supervisor.TaskID(l.Tasks[0].Task.ID) != live {
				t.Fatalf("%q: %+v", q, l)
			}
		}
	})
	t.Run("a live task is still a node", func(t *testing.T) {
		if n, ok := liveTask(t, base, live); !ok || n.Kind != "task" || n.Task.State != "running" {
			t.Fatalf("%+v", n)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name, method, path string
			wantStatus         int
			wantBody           string
		}{
			{"another state", "GET", "/debug/tasks?state=done", 400,
				`{"error":"Invalid query","details":"state must be live or finished, got \"done\""}`},
			{"a bad page of the finished list", "GET", "/debug/tasks?state=finished&limit=0", 400,
				`{"error":"Invalid query","details":"limit must be an integer from 1 to 1000, got \"0\""}`},
			{"an unknown id", "GET", "/debug/tasks/999999999", 404,
				`{"error":"Task not found","details":"no live or kept task 999999999"}`},
			{"cancel an ended task", "POST", fmt.Sprintf("/debug/tasks/%d/cancel", cancelled), 409,
				fmt.Sprintf(`{"error":"Task not cancellable","details":"task %d is over (cancelled)"}`, cancelled)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := do(t, tt.method, base+tt.path, "", nil); got.status != tt.wantStatus || got.body != tt.wantBody {
					t.Fatalf("got %d %s, want %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
				}
			})
		}
	})
}

// itemOf returns task id's object in the list at url, as sent.
func itemOf(tb testing.TB, url string, id supervisor.TaskID) string {
	tb.Helper()
	var list struct{ Tasks []json.RawMessage }
	getJSON(tb, url, &list)
	for _, raw := range list.Tasks {
		var f finishedJSON
		if json.Unmarshal(raw, &f) == nil && supervisor.TaskID(f.ID) == id {
			return string(raw)
		}
	}
	tb.Fatalf("task %d not in %s", id, url)
	return ""
}

// An outcome the supervisor no longer keeps is a 404, like an unknown id.
func TestDebugExpiredOutcome(t *testing.T) {
	sup, err := supervisor.New(supervisor.Config{MaxResults: -1}) // keeps none
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testkit.ShutdownNow(sup) })
	_, base := mustServe(t, httpapi.Config{Supervisor: sup, Debug: true})
	id, err := sup.Go("quick", nil, func(context.Context) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the task gone", func() bool { _, live := liveTask(t, base, id); return !live })
	got := do(t, http.MethodGet, fmt.Sprintf("%s/debug/tasks/%d", base, id), "", nil)
	if want := fmt.Sprintf(`{"error":"Task not found","details":"no live or kept task %d"}`, id); got.status != 404 || got.body != want {
		t.Fatalf("got %d %s, want 404 %s", got.status, got.body, want)
	}
	var list finishedListJSON
	getJSON(t, base+"/debug/tasks?state=finished", &list)
	if list.Total != 0 || list.Tasks == nil || len(list.Tasks) != 0 {
		t.Fatalf("finished list %+v, want total 0 and []", list)
	}
}
