package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/logbuf"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { agentBinary.Remove() }))
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config // compared on addr, debug, logFormat, drainTimeout, metricsAddr
		wantErr bool
	}{
		{"defaults", nil, nil, config{addr: "0.0.0.0:8080", logFormat: "json", drainTimeout: 10 * time.Second}, false},
		{"PORT", nil, map[string]string{"PORT": "9000"}, config{addr: "0.0.0.0:9000", logFormat: "json", drainTimeout: 10 * time.Second}, false},
		{"flag beats PORT", []string{"-addr", "127.0.0.1:1"}, map[string]string{"PORT": "9000"}, config{addr: "127.0.0.1:1", logFormat: "json", drainTimeout: 10 * time.Second}, false},
		{"env fallbacks", nil, map[string]string{"AGENT_DEBUG": "1", "AGENT_LOG_FORMAT": "console", "AGENT_DRAIN_TIMEOUT": "3s"}, config{addr: "0.0.0.0:8080", debug: true, logFormat: "console", drainTimeout: 3 * time.Second}, false},
		{"bad level", []string{"-log-level", "loud"}, nil, config{}, true},
		{"bad format", []string{"-log-format", "xml"}, nil, config{}, true},
		{"bad drain", []string{"-drain-timeout", "-1s"}, nil, config{}, true},
		{"bad addr", []string{"-addr", "nowhere"}, nil, config{}, true},
		{"metrics address", nil, map[string]string{"AGENT_METRICS_ADDR": "127.0.0.1:9464"}, config{addr: "0.0.0.0:8080", logFormat: "json", drainTimeout: 10 * time.Second, metricsAddr: "127.0.0.1:9464"}, false},
		{"metrics flag beats env", []string{"-metrics-addr", ":9000"}, map[string]string{"AGENT_METRICS_ADDR": "127.0.0.1:9464"}, config{addr: "0.0.0.0:8080", logFormat: "json", drainTimeout: 10 * time.Second, metricsAddr: ":9000"}, false},
		{"bad metrics addr", []string{"-metrics-addr", "9464"}, nil, config{}, true},
		{"stray argument", []string{"extra"}, nil, config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && (got.addr != tt.want.addr || got.debug != tt.want.debug || got.logFormat != tt.want.logFormat || got.drainTimeout != tt.want.drainTimeout || got.metricsAddr != tt.want.metricsAddr) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// agentProcess is the seed agent running in-process through run.
type agentProcess struct {
	base string
	stop context.CancelFunc
	done chan error
	logs *syncBuffer
}

// mustRun starts run with args plus -addr 127.0.0.1:0, and reads the bound
// address from its "listening" log line.
func mustRun(t *testing.T, args ...string) *agentProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &agentProcess{stop: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	go func() {
		p.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), func(string) string { return "" }, io.Discard, p.logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-p.done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	addrRE := regexp.MustCompile(`"addr":"([^"]+)"`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := addrRE.FindStringSubmatch(p.logs.String()); m != nil {
			p.base = "http://" + m[1]
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line in %s", p.logs.String())
		}
		time.Sleep(5 * time.Millisecond) // a poll interval
	}
}

func (p *agentProcess) curl(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestREADMESession replays the README's curl session, with the same
// answers (task ids, times and durations vary: ids are unique per process,
// so they grow across tests).
func TestREADMESession(t *testing.T) {
	p := mustRun(t, "-drain-timeout", "50ms") // the 30 s task need not hold the test
	steps := []struct {
		method, path, body string
		want               string // a regexp of the whole answer
	}{
		{"GET", "/ping", "", `^\{"status":"Healthy","time_of_last_update":[0-9]+\}$`},
		{"POST", "/invocations", `{"action": "process", "data_id": "sample_data"}`, `^\{"message": "Started processing sample_data", "task_id": [0-9]+, "status": "processing"\}$`},
		{"GET", "/ping", "", `^\{"status":"HealthyBusy","time_of_last_update":[0-9]+\}$`},
		{"POST", "/invocations", `{"action": "status"}`, `^\{"ping_status": "HealthyBusy", "active_tasks": 1, "running_jobs": \[\{"name": "data_processing", "duration": [0-9.e-]+\}\]\}$`},
		{"POST", "/invocations", `{"action": "cleanup"}`, `^\{"message": "Started cleanup", "task_id": [0-9]+\}$`},
		{"POST", "/invocations", `{}`, `^\{"message": "Simple BedrockAgentCore Agent", "available_actions": \["process", "cleanup", "status"\], "usage": "Send \{'action': 'process', 'data_id': 'my_data'\}"\}$`},
	}
	for _, s := range steps {
		status, body := p.curl(t, s.method, s.path, s.body)
		if status != 200 || !regexp.MustCompile(s.want).MatchString(body) {
			t.Fatalf("%s %s %s: got %d %s, want %s", s.method, s.path, s.body, status, body, s.want)
		}
	}
}

// The result action: a task's state while it runs, its outcome and result
// once over, a 404 JSON error for an id that is no task, a 400 for one that
// is no integer.
func TestResultAction(t *testing.T) {
	p := mustRun(t)
	status, body := p.curl(t, "POST", "/invocations", `{"action": "process", "data_id": "d1", "seconds": 0.2}`)
	m := regexp.MustCompile(`"task_id": ([0-9]+)`).FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("process: %d %s", status, body)
	}
	ask := `{"action": "result", "task_id": ` + m[1] + `}`
	if status, body := p.curl(t, "POST", "/invocations", ask); status != 200 ||
		!regexp.MustCompile(`^\{"task_id": [0-9]+, "name": "data_processing", "state": "running", "done": false\}$`).MatchString(body) {
		t.Fatalf("result while running: %d %s", status, body)
	}
	done := regexp.MustCompile(`^\{"task_id": [0-9]+, "name": "data_processing", "state": "succeeded", "done": true, "result": \{"data_id": "d1", "seconds": 0.2\}\}$`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := p.curl(t, "POST", "/invocations", ask)
		if status == 200 && done.MatchString(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("result after the task: %d %s", status, body)
		}
		time.Sleep(20 * time.Millisecond) // a poll interval
	}
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"action": "result", "task_id": 999999999}`, 404, `{"error":"task 999999999 not found: unknown, or ended longer ago than its outcome is kept"}`},
		{`{"action": "result", "task_id": -1}`, 404, `{"error":"task -1 not found: unknown, or ended longer ago than its outcome is kept"}`},
		{`{"action": "result", "task_id": "1"}`, 400, `{"error":"task_id must be a JSON integer"}`},
		{`{"action": "result"}`, 400, `{"error":"task_id must be a JSON integer"}`},
	} {
		if status, body := p.curl(t, "POST", "/invocations", tc.body); status != tc.status || body != tc.want {
			t.Errorf("%s: %d %s, want %d %s", tc.body, status, body, tc.status, tc.want)
		}
	}
}

// TestDrain stops the agent while a task runs: new invocations get 503,
// /ping says HealthyBusy, the task is cut at the drain timeout and logged,
// and run returns nil (exit 0).
func TestDrain(t *testing.T) {
	p := mustRun(t, "-drain-timeout", "1s")
	if status, body := p.curl(t, "POST", "/invocations", `{"action": "process", "data_id": "d", "seconds": 3600}`); status != 200 {
		t.Fatalf("process: %d %s", status, body)
	}
	p.stop()
	var answered bool
	for !answered { // until the listener closes, after the drain
		status, body, err := tryPost(p.base, `{"action": "status"}`)
		if err != nil {
			break
		}
		time.Sleep(5 * time.Millisecond) // a poll interval
		if status == 503 {
			if body != `{"error":"Agent is shutting down: no new invocations"}` {
				t.Fatalf("503 body %s", body)
			}
			answered = true
			if ping, _, err := tryGet(p.base + "/ping"); err == nil && !strings.Contains(ping, `"HealthyBusy"`) {
				t.Fatalf("ping while draining: %s", ping)
			}
		}
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the drain timeout")
	}
	if !answered {
		t.Fatal("never saw a 503 while draining")
	}
	if !strings.Contains(p.logs.String(), `task did not finish before shutdown`) {
		t.Fatalf("the cut task was not logged:\n%s", p.logs.String())
	}
}

func tryPost(base, body string) (int, string, error) {
	res, err := http.Post(base+"/invocations", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func tryGet(url string) (string, int, error) {
	res, err := http.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), res.StatusCode, err
}

func TestRunHelpAndBadFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("-h: %v", err)
	}
	if !strings.Contains(out.String(), "-drain-timeout") {
		t.Fatalf("usage lacks the flags: %s", out.String())
	}
	if !strings.Contains(out.String(), "a flag given wins over its environment variable") {
		t.Fatalf("usage does not say which of a flag and the environment wins: %s", out.String())
	}
	err := run(context.Background(), []string{"-log-format", "xml"}, func(string) string { return "" }, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) {
		t.Fatalf("bad flag: %v", err)
	}
}

// -version prints what the build stamped (nothing in a test binary: dev and
// unknown; make image's stamp is checked by internal/imagetest) and serves
// nothing, even with an environment that would not start the agent.
func TestRunVersion(t *testing.T) {
	var out bytes.Buffer
	badEnv := func(k string) string { return map[string]string{"AGENT_LOG_LEVEL": "loud", "PORT": "x"}[k] }
	if err := run(context.Background(), []string{"-version"}, badEnv, &out, io.Discard); err != nil {
		t.Fatalf("-version: %v", err)
	}
	if want := "agent dev (commit unknown, " + runtime.Version() + ")\n"; out.String() != want {
		t.Fatalf("-version printed %q, want %q", out.String(), want)
	}
}

func TestSeedLogsAreJSON(t *testing.T) {
	p := mustRun(t)
	p.curl(t, "POST", "/invocations", `{}`)
	for line := range strings.Lines(p.logs.String()) {
		if !json.Valid([]byte(line)) {
			t.Fatalf("not a JSON log line: %q", line)
		}
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct{ logbuf.Buffer }

// seconds must be a JSON number in [0, 86400]: anything else is a 400 with
// the contract's error body, and starts nothing.
func TestSeedRejectsBadSeconds(t *testing.T) {
	p := mustRun(t)
	const want = `{"error":"seconds must be a JSON number from 0 to 86400"}`
	for _, action := range []string{"process", "cleanup"} {
		for _, seconds := range []string{`"2"`, `"NaN"`, `-1`, `86401`, `1e400`, `null`, `true`, `[2]`, `{}`} {
			t.Run(action+" "+seconds, func(t *testing.T) {
				status, body := p.curl(t, "POST", "/invocations", `{"action": "`+action+`", "seconds": `+seconds+`}`)
				if status != 400 || body != want {
					t.Fatalf("got %d %s, want 400 %s", status, body, want)
				}
			})
		}
	}
	if _, body := p.curl(t, "GET", "/ping", ""); !strings.Contains(body, `"Healthy"`) {
		t.Fatalf("ping %s: a rejected payload started a task", body)
	}
}

// -log-format console writes plain text, without colour codes, when its
// output is not a terminal (a file, a pipe, a log collector).
func TestConsoleLogsWithoutTerminalHaveNoColour(t *testing.T) {
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-format", "console"}, func(string) string { return "" }, io.Discard, logs)
	}()
	testkit.Eventually(t, "the listening line", func() bool { return strings.Contains(logs.String(), "listening") })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if strings.Contains(logs.String(), "\x1b") {
		t.Fatalf("escape codes in console logs:\n%q", logs.String())
	}
	if !strings.Contains(logs.String(), "INF listening") {
		t.Fatalf("not console text:\n%s", logs.String())
	}
}

// The listening line shows the address as asked for, with the port bound:
// 0.0.0.0 is IPv4 on every interface, not [::].
func TestListeningLineShowsTheAddressAskedFor(t *testing.T) {
	p := mustRun(t, "-addr", "0.0.0.0:0")
	lines := p.logs.Lines(t)
	var addr string
	for _, l := range lines {
		if l["message"] == "listening" {
			addr, _ = l["addr"].(string)
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "0.0.0.0" || port == "0" {
		t.Fatalf("listening on %q, want 0.0.0.0 and the bound port", addr)
	}
	if status, _ := p.curl(t, "GET", "/ping", ""); status != 200 {
		t.Fatalf("/ping on %s: %d", addr, status)
	}
}
