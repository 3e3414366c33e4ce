package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binaryDir holds the agent built for the drain tests; TestMain removes it.
var binaryDir = sync.OnceValues(func() (string, error) { return os.MkdirTemp("", "agent-drain-test") })

func removeBinary() {
	if dir, err := binaryDir(); err == nil {
		_ = os.RemoveAll(dir)
	}
}

// binary builds the agent once for the drain tests.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := binaryDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "agent")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
})

// proc is the agent binary running on a loopback port.
type proc struct {
	cmd    *exec.Cmd
	base   string
	logs   *syncBuffer
	exited chan struct{} // closed once the process has exited
}

// lines returns the log lines whose message is msg.
func (b *syncBuffer) lines(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func startBinary(t *testing.T, args ...string) *proc {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &proc{base: "http://" + addr, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"-addr", addr, "-log-level", "debug"}, args...)...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait() // the exit code is read from ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	waitFor(t, "the agent to answer /ping", func() bool { return p.get("/ping").status == http.StatusOK })
	return p
}

type reply struct {
	status int
	body   string
}

func (p *proc) get(path string) reply {
	res, err := http.Get(p.base + path)
	if err != nil {
		return reply{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, string(b)}
}

func (p *proc) invoke(t *testing.T, body string) reply {
	t.Helper()
	res, err := http.Post(p.base+"/invocations", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, string(b)}
}

// waitExit waits up to 30 s for the agent to exit and returns its exit code.
func (p *proc) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("the agent did not exit; logs:\n%s", p.logs.String())
		return -1
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

// SIGTERM: new invocations get 503, /ping stays truthful, tasks that end
// within the drain timeout finish, the others are cancelled and logged, and
// the agent exits 0.
func TestDrainOnSIGTERM(t *testing.T) {
	const drain = 2 * time.Second
	p := startBinary(t, "-drain-timeout", drain.String())
	short := p.invoke(t, `{"action": "cleanup", "seconds": 0.5}`)
	long := p.invoke(t, `{"action": "process", "data_id": "big", "seconds": 60}`)
	if short.status != http.StatusOK || long.status != http.StatusOK {
		t.Fatalf("starting tasks: %+v %+v", short, long)
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "invocations refused with 503", func() bool {
		return p.invoke(t, `{"action": "status"}`).status == http.StatusServiceUnavailable
	})
	if got := p.get("/ping").body; !strings.Contains(got, `"HealthyBusy"`) {
		t.Fatalf("ping while draining: %s, want HealthyBusy", got)
	}
	if code := p.waitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0; logs:\n%s", code, p.logs.String())
	}
	if took := time.Since(start); took < drain {
		t.Fatalf("exited %s after SIGTERM, before the %s drain timeout with a task left", took, drain)
	}
	over := map[string]string{}
	for _, l := range p.logs.lines("task over") {
		over[l["task_name"].(string)] = l["outcome"].(string)
	}
	if over["cleanup"] != "succeeded" || over["data_processing"] != "cancelled" {
		t.Fatalf("outcomes %v, want cleanup succeeded and data_processing cancelled", over)
	}
	if len(p.logs.lines("tasks cut by the drain timeout")) != 1 {
		t.Fatalf("no line says the drain timeout cut the tasks; logs:\n%s", p.logs.String())
	}
	cut := p.logs.lines("task did not finish before shutdown; cancelled")
	if len(cut) != 1 || cut[0]["task_name"] != "data_processing" || cut[0]["metadata"].(map[string]any)["data_id"] != "big" {
		t.Fatalf("cut lines %v, want data_processing with its data_id", cut)
	}
}

// A second signal cuts the drain short: the agent exits long before its
// drain timeout, still logging the task it cut.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	p := startBinary(t, "-drain-timeout", "10m")
	if got := p.invoke(t, `{"action": "process", "data_id": "big", "seconds": 600}`); got.status != http.StatusOK {
		t.Fatalf("starting the task: %+v", got)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the drain to begin", func() bool {
		return p.invoke(t, `{"action": "status"}`).status == http.StatusServiceUnavailable
	})
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.waitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if len(p.logs.lines("second signal: cutting the drain short")) != 1 ||
		len(p.logs.lines("task did not finish before shutdown; cancelled")) != 1 {
		t.Fatalf("logs lack the cut; logs:\n%s", p.logs.String())
	}
	// The drain timeout (10 min) did not cut anything: the signal did.
	if len(p.logs.lines("tasks cut by the drain timeout")) != 0 || len(p.logs.lines("tasks cut by a second signal")) != 1 {
		t.Fatalf("the log does not say the second signal cut the tasks; logs:\n%s", p.logs.String())
	}
}
