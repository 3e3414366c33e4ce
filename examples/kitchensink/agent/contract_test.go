package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/agentvisor/agentvisor/examples/kitchensink/agent"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// The tests below check contract.md over real HTTP, rule by rule.

func TestPing(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	status, _ := k.pingStatus(t)
	if status != "Healthy" {
		t.Fatalf("status %s at rest", status)
	}
	head := k.do(t, http.MethodHead, "/ping", "", nil)
	if head.status != 200 || head.body != "" || head.header.Get("Content-Type") != "application/json" {
		t.Fatalf("HEAD /ping: %d %q %v", head.status, head.body, head.header)
	}
}

func TestRoutes(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantAllow          string
		wantBody           string
	}{
		{"POST /ping", "POST", "/ping", 405, "GET, HEAD", `{"error":"Method Not Allowed"}`},
		{"GET /invocations", "GET", "/invocations", 405, "POST", `{"error":"Method Not Allowed"}`},
		{"PUT /invocations", "PUT", "/invocations", 405, "POST", `{"error":"Method Not Allowed"}`},
		{"POST /ws", "POST", "/ws", 405, "GET", `{"error":"Method Not Allowed"}`},
		{"unknown path", "GET", "/nope", 404, "", `{"error":"Not Found"}`},
		{"trailing slash", "GET", "/ping/", 404, "", `{"error":"Not Found"}`},
		{"double slash", "GET", "//ping", 404, "", `{"error":"Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := k.do(t, tt.method, tt.path, "", nil)
			if got.status != tt.wantStatus || got.header.Get("Allow") != tt.wantAllow || got.body != tt.wantBody {
				t.Fatalf("got %d Allow=%q %s", got.status, got.header.Get("Allow"), got.body)
			}
		})
	}
}

func TestInvocations(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	tests := []struct {
		name       string
		payload    string
		header     http.Header
		wantStatus int
		wantBody   string // exact
	}{
		{"echo keeps key order, spaces it, raw UTF-8", `{"z":1,"a":{"é":"<&>"},"action":"echo"}`, nil, 200, `{"echo": {"z": 1, "a": {"é": "<&>"}, "action": "echo"}}`},
		{"unknown action echoes", `{"action": "nope"}`, nil, 200, `{"echo": {"action": "nope"}}`},
		{"non-object echoes", `[1, "two", null]`, nil, 200, `{"echo": [1, "two", null]}`},
		{"text/plain accepted", `{"a": 1}`, http.Header{"Content-Type": {"text/plain"}}, 200, `{"echo": {"a": 1}}`},
		{"string", `{"action": "string"}`, nil, 200, `"hello"`},
		{"none", `{"action": "none"}`, nil, 200, `null`},
		{"fail", `{"action": "fail"}`, nil, 500, `{"error":"boom"}`},
		{"http_error", `{"action": "http_error"}`, nil, 422, `{"error":"bad input"}`},
		{"panic", `{"action": "panic"}`, nil, 500, `{"error":"kitchensink handler panics on purpose"}`},
		{"empty body", ``, nil, 400, `{"error":"Invalid JSON","details":"empty body"}`},
		{"invalid JSON", `{"a":`, nil, 400, `{"error":"Invalid JSON","details":"unexpected end of JSON input"}`},
		{"not UTF-8", "\"\xff\"", nil, 400, `{"error":"Invalid encoding","details":"body is not valid UTF-8 (first bad byte at offset 1)"}`},
		{"bad seconds", `{"action": "process", "seconds": -1}`, nil, 400, `{"error":"seconds must be a JSON number from 0 to 86400"}`},
		{"debug key is payload when debug is off", `{"_agent_core_app_action": "ping_status"}`, nil, 200, `{"echo": {"_agent_core_app_action": "ping_status"}}`},
		{"context without headers", `{"action": "context"}`, nil, 200, `{"session_id": null, "request_headers": null}`},
		{"context with headers", `{"action": "context"}`, http.Header{
			"X-Amzn-Bedrock-Agentcore-Runtime-Session-Id": {"sess-1"},
			"Authorization": {"Bearer t"},
			"X-Amzn-Bedrock-Agentcore-Runtime-Custom-Tenant": {"acme"},
			"X-Amzn-Trace-Id":      {"hidden"},
			"X-Amz-Security-Token": {"hidden"},
			"X-Forwarded-For":      {"hidden"},
			"User-Agent":           {"hidden"},
			"X-Team":               {"blue"},
		}, 200, `{"session_id": "sess-1", "request_headers": {"Authorization": "Bearer t", "x-amzn-bedrock-agentcore-runtime-custom-tenant": "acme", "x-team": "blue"}}`},
		{"sleep", `{"action": "sleep", "seconds": 0.01}`, nil, 200, `{"slept": 0.01}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := k.do(t, http.MethodPost, "/invocations", tt.payload, tt.header)
			if got.status != tt.wantStatus || got.body != tt.wantBody {
				t.Fatalf("got %d %s\nwant %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
}

func TestStreams(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	tests := []struct {
		action string
		want   string
	}{
		{"stream", "data: {\"chunk\": 1}\n\ndata: \"text\"\n\n"},
		{"stream_fail", "data: {\"chunk\": 1}\n\ndata: {\"error\": \"stream broke\", \"error_type\": \"Error\", \"message\": \"An error occurred during streaming\"}\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			res, err := http.Post(k.base+"/invocations", "application/json", strings.NewReader(`{"action": "`+tt.action+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body strings.Builder
			if _, err := bufio.NewReader(res.Body).WriteTo(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 || body.String() != tt.want {
				t.Fatalf("got %d %q\nwant %q", res.StatusCode, body.String(), tt.want)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
			if len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
				t.Fatalf("Transfer-Encoding %v, want chunked", res.TransferEncoding)
			}
		})
	}
}

var (
	processRE = regexp.MustCompile(`^\{"message": "Started processing default_data", "task_id": ([0-9]+), "status": "processing"\}$`)
	cleanupRE = regexp.MustCompile(`^\{"message": "Started cleanup", "task_id": ([0-9]+)\}$`)
	statusRE  = regexp.MustCompile(`^\{"ping_status": "HealthyBusy", "active_tasks": 2, "running_jobs": \[\{"name": "data_processing", "duration": [0-9.e-]+\}, \{"name": "cleanup", "duration": [0-9.e-]+\}\]\}$`)
)

func TestTasks(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	_, since := k.pingStatus(t)
	if got := k.invoke(t, `{"action": "process", "seconds": 30}`); !processRE.MatchString(got.body) {
		t.Fatalf("process: %s", got.body)
	}
	if status, _ := k.pingStatus(t); status != "HealthyBusy" { // read-your-writes: no waiting
		t.Fatalf("status %s after process", status)
	}
	if got := k.invoke(t, `{"action": "cleanup", "seconds": 30}`); !cleanupRE.MatchString(got.body) {
		t.Fatalf("cleanup: %s", got.body)
	}
	if got := k.invoke(t, `{"action": "status"}`); !statusRE.MatchString(got.body) {
		t.Fatalf("status: %s", got.body)
	}
	_, busySince := k.pingStatus(t)
	if busySince < since {
		t.Fatalf("time went back: %s then %s", since, busySince)
	}
}

func TestTrackAndComplete(t *testing.T) {
	k := mustStart(t, true, agent.PingAuto)
	got := k.invoke(t, `{"action": "track", "note": "by hand"}`)
	var tracked struct {
		TaskID uint64 `json:"task_id"`
	}
	if err := json.Unmarshal([]byte(got.body), &tracked); err != nil || tracked.TaskID == 0 {
		t.Fatalf("track: %s", got.body)
	}
	if status, _ := k.pingStatus(t); status != "HealthyBusy" {
		t.Fatalf("status %s while tracked", status)
	}
	jobs := k.invoke(t, `{"_agent_core_app_action": "job_status"}`)
	if !regexp.MustCompile(`^\{"active_count":1,"running_jobs":\[\{"name":"manual","duration":[0-9.e-]+\}\]\}$`).MatchString(jobs.body) {
		t.Fatalf("job_status: %s", jobs.body)
	}
	complete := fmt.Sprintf(`{"action": "complete", "task_id": %d}`, tracked.TaskID)
	if got := k.invoke(t, complete); got.body != `{"completed": true}` {
		t.Fatalf("complete: %s", got.body)
	}
	if status, _ := k.pingStatus(t); status != "Healthy" {
		t.Fatalf("status %s once completed", status)
	}
	if got := k.invoke(t, complete); got.body != `{"completed": false}` {
		t.Fatalf("second complete: %s", got.body)
	}
}

func TestFailingTasksEnd(t *testing.T) {
	for _, action := range []string{"task_fail", "task_panic"} {
		t.Run(action, func(t *testing.T) {
			k := mustStart(t, false, agent.PingAuto)
			if got := k.invoke(t, `{"action": "`+action+`", "seconds": 0.05}`); got.status != 200 {
				t.Fatalf("%d %s", got.status, got.body)
			}
			if status, _ := k.pingStatus(t); status != "HealthyBusy" {
				t.Fatalf("status %s right after start", status)
			}
			testkit.Eventually(t, "Healthy after the task failed", func() bool { s, _ := k.pingStatus(t); return s == "Healthy" })
		})
	}
}

func TestPingStaysFastWhileAHandlerBlocks(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, k.base+"/invocations", strings.NewReader(`{"action": "sleep", "seconds": 3600}`))
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	for range 20 {
		k.pingStatus(t)
	}
	select {
	case <-done:
		t.Fatal("the sleeping invocation ended before the pings: the test proves nothing")
	default:
	}
	cancel() // the client leaves; the handler's context ends it
	<-done
}

func TestManyTasks(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			// 1.1 s: the last task ends over a second after the first began,
			// so the whole-second time_of_last_update must move.
			if got := k.invoke(t, `{"action": "cleanup", "seconds": 1.1}`); got.status != 200 {
				t.Errorf("cleanup: %d %s", got.status, got.body)
			}
		})
	}
	wg.Wait()
	status, busySince := k.pingStatus(t)
	if status != "HealthyBusy" {
		t.Fatalf("status %s with 200 tasks started", status)
	}
	var healthySince string
	testkit.Eventually(t, "Healthy again, with a later time", func() bool {
		status, since := k.pingStatus(t)
		healthySince = since
		return status == "Healthy" && atoi(since) > atoi(busySince)
	})
	if _, again := k.pingStatus(t); again != healthySince {
		t.Fatalf("time_of_last_update re-stamped without a change: %s then %s", healthySince, again)
	}
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func TestDebugActions(t *testing.T) {
	k := mustStart(t, true, agent.PingAuto)
	tests := []struct {
		payload    string
		wantStatus int
		wantBody   string // a regexp
		wantPing   string
	}{
		{`{"_agent_core_app_action": "ping_status"}`, 200, `^\{"status":"Healthy","time_of_last_update":[0-9]+\}$`, "Healthy"},
		{`{"_agent_core_app_action": "job_status"}`, 200, `^\{"active_count":0,"running_jobs":\[\]\}$`, "Healthy"},
		{`{"_agent_core_app_action": "force_busy"}`, 200, `^\{"forced_status":"HealthyBusy"\}$`, "HealthyBusy"},
		{`{"_agent_core_app_action": "ping_status"}`, 200, `^\{"status":"HealthyBusy","time_of_last_update":[0-9]+\}$`, "HealthyBusy"},
		{`{"_agent_core_app_action": "force_healthy"}`, 200, `^\{"forced_status":"Healthy"\}$`, "Healthy"},
		{`{"_agent_core_app_action": "clear_forced_status"}`, 200, `^\{"forced_status":"Cleared"\}$`, "Healthy"},
		{`{"_agent_core_app_action": "nope"}`, 400, `^\{"error":"Unknown action: nope"\}$`, "Healthy"},
		{`{"_agent_core_app_action": true}`, 400, `^\{"error":"Unknown action: True"\}$`, "Healthy"},
		{`{"_agent_core_app_action": ""}`, 200, `^\{"echo": \{"_agent_core_app_action": ""\}\}$`, "Healthy"},
		{`{"_agent_core_app_action": false, "action": "string"}`, 200, `^"hello"$`, "Healthy"},
		{`[{"_agent_core_app_action": "ping_status"}]`, 200, `^\{"echo": `, "Healthy"},
	}
	for _, tt := range tests {
		t.Run(tt.payload, func(t *testing.T) {
			got := k.invoke(t, tt.payload)
			if got.status != tt.wantStatus || !regexp.MustCompile(tt.wantBody).MatchString(got.body) {
				t.Fatalf("got %d %s, want %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
			if status, _ := k.pingStatus(t); status != tt.wantPing {
				t.Fatalf("ping %s, want %s", status, tt.wantPing)
			}
		})
	}
}

func TestPingModes(t *testing.T) {
	t.Run("busy", func(t *testing.T) {
		k := mustStart(t, true, agent.PingBusy)
		if status, _ := k.pingStatus(t); status != "HealthyBusy" {
			t.Fatalf("status %s", status)
		}
		k.invoke(t, `{"_agent_core_app_action": "force_healthy"}`) // forced beats custom
		if status, _ := k.pingStatus(t); status != "Healthy" {
			t.Fatalf("forced status %s", status)
		}
	})
	t.Run("fail", func(t *testing.T) {
		k := mustStart(t, false, agent.PingFail)
		if status, _ := k.pingStatus(t); status != "Healthy" {
			t.Fatalf("status %s at rest", status)
		}
		k.invoke(t, `{"action": "track"}`)
		if status, _ := k.pingStatus(t); status != "HealthyBusy" { // automatic, since the function fails
			t.Fatalf("status %s with a task", status)
		}
	})
}

func TestWebSocketEcho(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	ctx := context.Background()
	header := http.Header{"X-Amzn-Bedrock-Agentcore-Runtime-Session-Id": {"ws-1"}}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(k.base, "http")+"/ws", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	tests := []struct{ send, want string }{
		{`{"b":1,"a":"é"}`, `{"echo": {"b": 1, "a": "é"}, "session_id": "ws-1"}`},
		{`[1,2]`, `{"echo": [1, 2], "session_id": "ws-1"}`},
		{`not json`, `{"error": "expected a text message holding JSON"}`},
	}
	for _, tt := range tests {
		if err := conn.Write(ctx, websocket.MessageText, []byte(tt.send)); err != nil {
			t.Fatal(err)
		}
		_, got, err := conn.Read(ctx)
		if err != nil || string(got) != tt.want {
			t.Fatalf("sent %s, got %s (%v), want %s", tt.send, got, err, tt.want)
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
}

// Every action that takes seconds wants a JSON number in [0, 86400]: a
// string holding a number is no number, and nothing starts.
func TestBadSeconds(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	const want = `{"error":"seconds must be a JSON number from 0 to 86400"}`
	for _, action := range []string{"process", "cleanup", "sleep", "task_fail", "task_panic"} {
		for _, seconds := range []string{`"2"`, `"NaN"`, `"Infinity"`, `-1`, `-0.5`, `86401`, `1e400`, `null`, `true`, `[]`, `{}`} {
			t.Run(action+" "+seconds, func(t *testing.T) {
				got := k.invoke(t, `{"action": "`+action+`", "seconds": `+seconds+`}`)
				if got.status != 400 || got.body != want {
					t.Fatalf("got %d %s, want 400 %s", got.status, got.body, want)
				}
			})
		}
	}
	if status, _ := k.pingStatus(t); status != "Healthy" {
		t.Fatalf("status %s: a rejected payload started a task", status)
	}
}

// complete answers false for any JSON integer that is no live tracked task,
// as the reference's complete_async_task does; only a task_id that is not
// an integer is the client's error.
func TestCompleteTaskIDs(t *testing.T) {
	k := mustStart(t, false, agent.PingAuto)
	tests := []struct {
		taskID     string // the task_id field's JSON; "" leaves it out
		wantStatus int
		wantBody   string
	}{
		{"0", 200, `{"completed": false}`},
		{"-1", 200, `{"completed": false}`},
		{"999999999", 200, `{"completed": false}`},
		{"18446744073709551615", 200, `{"completed": false}`},
		{"18446744073709551616", 200, `{"completed": false}`},
		{"-99999999999999999999999", 200, `{"completed": false}`},
		{`"1"`, 400, `{"error":"task_id must be a JSON integer"}`},
		{"1.5", 400, `{"error":"task_id must be a JSON integer"}`},
		{"1e3", 400, `{"error":"task_id must be a JSON integer"}`},
		{"null", 400, `{"error":"task_id must be a JSON integer"}`},
		{"[]", 400, `{"error":"task_id must be a JSON integer"}`},
		{"", 400, `{"error":"task_id must be a JSON integer"}`},
	}
	for _, tt := range tests {
		t.Run("task_id "+tt.taskID, func(t *testing.T) {
			payload := `{"action": "complete"}`
			if tt.taskID != "" {
				payload = `{"action": "complete", "task_id": ` + tt.taskID + `}`
			}
			got := k.invoke(t, payload)
			if got.status != tt.wantStatus || got.body != tt.wantBody {
				t.Fatalf("got %d %s, want %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}
