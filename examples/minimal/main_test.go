package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/proctest"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

var minimalBinary = proctest.NewBinary(".")

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { minimalBinary.Remove() }))
}

// The README's session: submit a job, poll it while /ping says HealthyBusy,
// fetch its result; an unknown job is a 404; SIGTERM exits 0.
func TestSubmitPollFetch(t *testing.T) {
	addr := proctest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(minimalBinary.Path(t))
	cmd.Env = append(os.Environ(), "PORT="+port) // Run listens on 0.0.0.0:$PORT
	p := proctest.Start(t, cmd, "http://"+addr)

	status, body := p.Invoke(t, `{"prompt": "why is the sky blue?"}`)
	job := regexp.MustCompile(`^\{"job": ([0-9]+)\}$`).FindStringSubmatch(body)
	if status != http.StatusOK || job == nil {
		t.Fatalf("submit: %d %s", status, body)
	}
	if _, ping := p.Get("/ping"); !regexp.MustCompile(`"HealthyBusy"`).MatchString(ping) {
		t.Fatalf("ping while the job runs: %s", ping)
	}
	poll := `{"job": ` + job[1] + `}`
	// The first progress report may not have reached the task's actor yet.
	running := regexp.MustCompile(`^\{"task_id": [0-9]+, "name": "think", "state": "running", "busy": true, "started": "[^"]+", "attempts": 1(, "progress": \{"fraction": [0-9.]+, "note": "thinking", "at": "[^"]+"\})?\}$`)
	if status, body := p.Invoke(t, poll); status != http.StatusOK || !running.MatchString(body) {
		t.Fatalf("poll: %d %s", status, body)
	}
	done := regexp.MustCompile(`^\{"task_id": [0-9]+, "name": "think", "state": "over", "outcome": "succeeded", "busy": false, "result": "an answer to why is the sky blue\?", "started": "[^"]+", "ended": "[^"]+", "attempts": 1, "progress": \{[^}]+\}\}$`)
	testkit.Eventually(t, "the job's result", func() bool {
		status, body := p.Invoke(t, poll)
		return status == http.StatusOK && done.MatchString(body)
	})
	if _, ping := p.Get("/ping"); !regexp.MustCompile(`"Healthy"`).MatchString(ping) {
		t.Fatalf("ping after the job: %s", ping)
	}
	if status, body := p.Invoke(t, `{"job": 999999}`); status != http.StatusNotFound || body != `{"error":"no job 999999"}` {
		t.Fatalf("unknown job: %d %s", status, body)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; logs:\n%s", code, p.Logs.String())
	}
}

// The README shows this program's main function as it is.
func TestREADMEShowsMain(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	shown := regexp.MustCompile("(?s)## Your own agent.*?```go\n(.*?)```").FindSubmatch(readme)
	main := regexp.MustCompile(`(?s)\nfunc main\(\) \{\n.*?\n\}\n`).Find(src)
	if shown == nil || main == nil || string(shown[1]) != string(main[1:]) {
		t.Fatalf("README's Go block differs from main.go's main:\n%s\nwant\n%s", shown, main)
	}
}
