package platform_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/internal/testkit"
)

// The seed agent's process task holds the session past the idle timeout
// (/ping says HealthyBusy with an integer time); the session is reaped one
// idle timeout after the status went back to Healthy, not before.
func TestSeedAgentBusyHoldsSession(t *testing.T) {
	t.Parallel()
	cfg := shortConfig(seedAgent.Path(t))
	em := mustStart(t, cfg)
	id := sessionID("seed-busy")
	invoked := time.Now()
	if res := em.invoke(t, id, `{"action": "process", "data_id": "x", "seconds": 8}`); res.Status != http.StatusOK || !strings.Contains(res.Body, "Started processing x") {
		t.Fatalf("process: %d %s", res.Status, res.Body)
	}
	em.waitLine(t, "status changed", id) // Healthy at start
	var healthyAgain map[string]any
	testkit.Eventually(t, "the task to end", func() bool {
		for _, l := range em.lines(t, "status changed", id) {
			if l["from"] == "HealthyBusy" && l["to"] == "Healthy" {
				healthyAgain = l
			}
		}
		return healthyAgain != nil
	})
	taskEnded := time.Now()
	if taskEnded.Sub(invoked) < cfg.IdleTimeout || !em.live(t, id) {
		t.Fatalf("the session did not outlive the idle timeout while busy (task ended after %v)", taskEnded.Sub(invoked))
	}
	gone := em.waitGone(t, id)
	reported := time.Unix(int64(healthyAgain["time_of_last_update"].(float64)), 0)
	if earliest := reported.Add(cfg.IdleTimeout); gone.Before(earliest) {
		t.Errorf("reaped at %v, before the reported change + idle timeout, %v", gone, earliest)
	}
	if late := gone.Sub(taskEnded); late > cfg.IdleTimeout+time.Second {
		t.Errorf("reaped %v after the task ended, want about the idle timeout (%v)", late, cfg.IdleTimeout)
	}
	if l := em.waitLine(t, "session ended", id); l["reason"] != "idle" || l["exit_code"] != 0.0 {
		t.Errorf("ended as %v", l)
	}
}

// Agents that misbehave as public implementations did, handled as the
// platform handles them.
func TestMisbehavingAgents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string // badagent's flags
		// idle and lifetime of the emulator.
		idle, lifetime time.Duration
		// wantReason is why the session ends; it must not end before
		// notBefore, counted from the invocation, nor after notAfter.
		wantReason          string
		notBefore, notAfter time.Duration
	}{
		// re-stamping "now" on every ping: never idle, ended at max lifetime
		{"re-stamps time_of_last_update", []string{"-mode", "restamp"}, 2 * time.Second, 5 * time.Second, "lifetime", 5 * time.Second, 7 * time.Second},
		// HealthyBusy without the field: reaped at last invocation + idle
		{"omits time_of_last_update", []string{"-mode", "omit"}, 2 * time.Second, time.Minute, "idle", 2 * time.Second, 4 * time.Second},
		// HealthyBusy with an ISO string: the same
		{"writes time_of_last_update as ISO", []string{"-mode", "iso"}, 2 * time.Second, time.Minute, "idle", 2 * time.Second, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := shortConfig(append([]string{badAgent.Path(t)}, tt.args...)...)
			cfg.IdleTimeout, cfg.MaxLifetime = tt.idle, tt.lifetime
			em := mustStart(t, cfg)
			id := sessionID("bad")
			invoked := time.Now()
			if res := em.invoke(t, id, `{"hello": 1}`); res.Status != http.StatusOK {
				t.Fatalf("invoke: %d %s", res.Status, res.Body)
			}
			gone := em.waitGone(t, id).Sub(invoked)
			if gone < tt.notBefore || gone > tt.notAfter {
				t.Errorf("ended after %v, want %v to %v", gone, tt.notBefore, tt.notAfter)
			}
			if l := em.waitLine(t, "session ended", id); l["reason"] != tt.wantReason {
				t.Errorf("ended as %v, want reason %s", l, tt.wantReason)
			}
		})
	}
}

// An agent that ignores SIGTERM is killed after the stop grace.
func TestIgnoresSIGTERM(t *testing.T) {
	t.Parallel()
	cfg := shortConfig(badAgent.Path(t), "-ignore-term")
	cfg.StopGrace = 500 * time.Millisecond
	em := mustStart(t, cfg)
	id := sessionID("deaf")
	em.invoke(t, id, `{}`)
	if err := em.Stop(id); err != nil {
		t.Fatal(err)
	}
	l := em.waitLine(t, "session ended", id)
	if l["reason"] != "stopped" || l["how"] != "killed after the stop grace" || l["signal"] != "killed" {
		t.Errorf("ended as %v", l)
	}
	if stop := time.Duration(l["stop"].(float64) * float64(time.Millisecond)); stop < cfg.StopGrace {
		t.Errorf("killed %v after SIGTERM, before the grace (%v)", stop, cfg.StopGrace)
	}
}

// A turn in flight does not hold the session: it is cut at last
// invocation + idle timeout while /ping says Healthy.
func TestInFlightDoesNotHold(t *testing.T) {
	t.Parallel()
	cfg := shortConfig(badAgent.Path(t))
	cfg.IdleTimeout = time.Second
	em := mustStart(t, cfg)
	id := sessionID("slow-turn")
	res := em.invoke(t, id, `{"sleep": 30}`)
	if res.Status != http.StatusFailedDependency || !strings.Contains(res.Body, "RuntimeClientError") {
		t.Errorf("a turn cut by the reaper: %d %s, want 424 RuntimeClientError", res.Status, res.Body)
	}
	if l := em.waitLine(t, "session ended", id); l["reason"] != "idle" {
		t.Errorf("ended as %v", l)
	}
}

// An agent that exits is a crash; one whose /ping fails three times in a
// row is unhealthy; a process the agent started goes with it.
func TestAgentFailures(t *testing.T) {
	t.Parallel()
	em := mustStart(t, shortConfig(badAgent.Path(t), "-child"))
	crash, sick := sessionID("crash"), sessionID("sick")
	em.invoke(t, crash, `{"exit": 3}`)
	em.invoke(t, sick, `{"break_ping": true}`)
	if l := em.waitLine(t, "session ended", crash); l["reason"] != "crashed" || l["exit_code"] != 3.0 {
		t.Errorf("crash ended as %v", l)
	}
	if l := em.waitLine(t, "session ended", sick); l["reason"] != "unhealthy" {
		t.Errorf("sick ended as %v", l)
	}
	if n := len(em.lines(t, "ping failed", sick)); n != 3 {
		t.Errorf("%d failed pings logged, want 3", n)
	}
	if left := leftovers(t, em.pids(t)); len(left) > 0 {
		t.Errorf("the agents' children outlived them: %v", left)
	}
	again := em.invoke(t, crash, `{}`)
	if again.Status != http.StatusOK || len(em.lines(t, "session started", crash)) != 2 {
		t.Errorf("an ended session's id did not start a new session: %d %s", again.Status, again.Body)
	}
}

// Bad input gets a JSON error the SDK can type (X-Amzn-ErrorType).
func TestBadInput(t *testing.T) {
	t.Parallel()
	em := mustStart(t, shortConfig(badAgent.Path(t)))
	stopPath := strings.Replace(invokePath, "invocations?qualifier=DEFAULT", "stopruntimesession", 1)
	tests := []struct {
		name, method, path, id string
		status                 int
		code                   string // X-Amzn-ErrorType and "error"
	}{
		{"unknown path", http.MethodGet, "/nowhere", "", http.StatusNotFound, "UnknownOperationException"},
		{"unknown operation", http.MethodPost, "/runtimes/arn/other", "", http.StatusNotFound, "UnknownOperationException"},
		{"GET invocations", http.MethodGet, invokePath, sessionID("x"), http.StatusMethodNotAllowed, "UnknownOperationException"},
		{"session id of 32 characters", http.MethodPost, invokePath, strings.Repeat("a", 32), http.StatusBadRequest, "ValidationException"},
		{"session id of 257 characters", http.MethodPost, invokePath, strings.Repeat("a", 257), http.StatusBadRequest, "ValidationException"},
		{"stop without a session id", http.MethodPost, stopPath, "", http.StatusBadRequest, "ValidationException"},
		{"stop of no session", http.MethodPost, stopPath, sessionID("none"), http.StatusNotFound, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := em.do(t, tt.method, tt.path, tt.id, `{}`)
			var body struct{ Error, Message string }
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
				t.Fatalf("%d %q is not JSON: %v", res.Status, res.Body, err)
			}
			if res.Status != tt.status || body.Error != tt.code || res.Header.Get("X-Amzn-ErrorType") != tt.code || body.Message == "" {
				t.Errorf("got %d %s, want %d %s", res.Status, res.Body, tt.status, tt.code)
			}
		})
	}
	if n := len(em.lines(t, "session started", "")); n != 0 {
		t.Errorf("bad input started %d sessions", n)
	}
}

// An agent command that cannot start, or never answers /ping, is a 424
// RuntimeClientError naming why, and leaves no process.
func TestAgentDoesNotStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command []string
		want    string // in the message
	}{
		{"no such command", []string{"/nonexistent/agent"}, "no such file"},
		{"exits at once", []string{badAgent.Path(t), "-mode", "nonsense", "-no-such-flag"}, "exited before answering /ping"},
		{"never answers /ping", []string{badAgent.Path(t), "-mode", "noping"}, "no answer from /ping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := shortConfig(tt.command...)
			cfg.StartTimeout = time.Second
			em := mustStart(t, cfg)
			res := em.invoke(t, sessionID("nostart"), `{}`)
			if res.Status != http.StatusFailedDependency || res.Header.Get("X-Amzn-ErrorType") != "RuntimeClientError" || !strings.Contains(res.Body, tt.want) {
				t.Errorf("got %d %s, want 424 RuntimeClientError with %q", res.Status, res.Body, tt.want)
			}
			if em.live(t, sessionID("nostart")) {
				t.Error("a session that did not start is listed")
			}
		})
	}
}

// The session id header is returned, generated when absent; the agent gets
// the id, a request id and the custom headers, not the client's
// Authorization.
func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	em := mustStart(t, shortConfig(badAgent.Path(t)))
	req, _ := http.NewRequest(http.MethodPost, em.Base+invokePath, strings.NewReader(`{"a":1}`))
	req.Header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Custom-Thing", "yes")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=...")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		Echo                                    json.RawMessage
		Session, Request, Custom, Authorization string
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	id := res.Header.Get("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id")
	if len(id) < 33 || got.Session != id || got.Request == "" || got.Request != res.Header.Get("X-Amzn-RequestId") {
		t.Errorf("session %q (agent saw %q), request %q", id, got.Session, got.Request)
	}
	if string(got.Echo) != `{"a":1}` || got.Custom != "yes" || got.Authorization != "" {
		t.Errorf("agent got %+v", got)
	}
}

// A streamed answer reaches the client event by event, as the agent
// flushes it, not at the end.
func TestStreamPassesThrough(t *testing.T) {
	t.Parallel()
	em := mustStart(t, shortConfig(badAgent.Path(t)))
	req, _ := http.NewRequest(http.MethodPost, em.Base+invokePath, strings.NewReader(`{"stream": 4, "every_ms": 300}`))
	req.Header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", sessionID("stream"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var events []time.Time
	for sc := bufio.NewScanner(res.Body); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "data: ") {
			events = append(events, time.Now())
		}
	}
	// The agent sleeps 300 ms between events: buffered, they would all
	// arrive together at the end.
	if len(events) != 4 || events[3].Sub(events[0]) < 600*time.Millisecond {
		t.Errorf("%d events over %v, want 4 over at least 600ms", len(events), events[len(events)-1].Sub(events[0]))
	}
}
