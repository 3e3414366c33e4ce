package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/internal/proctest"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// agentBinary is the agent built for the tests that run it as a process;
// TestMain removes it.
var agentBinary = proctest.NewBinary(".")

// startBinary runs the agent on a free loopback port, logging at debug level.
func startBinary(t *testing.T, args ...string) *proctest.Proc {
	t.Helper()
	return startBinaryEnv(t, nil, args...)
}

// startBinaryEnv is startBinary with env added to the test's environment,
// less its OTEL_* variables: a developer's collector is not the test's.
func startBinaryEnv(t *testing.T, env []string, args ...string) *proctest.Proc {
	t.Helper()
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(agentBinary.Path(t), append([]string{"-addr", addr, "-log-level", "debug"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return proctest.Start(t, cmd, "http://"+addr)
}

// SIGTERM: new invocations get 503, /ping stays truthful, tasks that end
// within the drain timeout finish, the others are cancelled and logged, and
// the agent exits 0.
func TestDrainOnSIGTERM(t *testing.T) {
	const drain = 2 * time.Second
	p := startBinary(t, "-drain-timeout", drain.String())
	for _, payload := range []string{`{"action": "cleanup", "seconds": 0.5}`, `{"action": "process", "data_id": "big", "seconds": 60}`} {
		if status, body := p.Invoke(t, payload); status != http.StatusOK {
			t.Fatalf("%s: %d %s", payload, status, body)
		}
	}
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	testkit.Eventually(t, "invocations refused with 503", func() bool {
		status, _ := p.Invoke(t, `{"action": "status"}`)
		return status == http.StatusServiceUnavailable
	})
	if _, got := p.Get("/ping"); !strings.Contains(got, `"HealthyBusy"`) {
		t.Fatalf("ping while draining: %s, want HealthyBusy", got)
	}
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0; logs:\n%s", code, p.Logs.String())
	}
	if took := time.Since(start); took < drain {
		t.Fatalf("exited %s after SIGTERM, before the %s drain timeout with a task left", took, drain)
	}
	over := map[string]string{}
	for _, l := range p.Lines("task over") {
		over[l["task_name"].(string)] = l["outcome"].(string)
	}
	if over["cleanup"] != "succeeded" || over["data_processing"] != "cancelled" {
		t.Fatalf("outcomes %v, want cleanup succeeded and data_processing cancelled", over)
	}
	if len(p.Lines("tasks cut by the drain timeout")) != 1 {
		t.Fatalf("no line says the drain timeout cut the tasks; logs:\n%s", p.Logs.String())
	}
	cut := p.Lines("task did not finish before shutdown; cancelled")
	if len(cut) != 1 || cut[0]["task_name"] != "data_processing" || cut[0]["metadata"].(map[string]any)["data_id"] != "big" {
		t.Fatalf("cut lines %v, want data_processing with its data_id", cut)
	}
}

// A second signal cuts the drain short: the agent exits long before its
// drain timeout, still logging the task it cut.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	p := startBinary(t, "-drain-timeout", "10m")
	if status, body := p.Invoke(t, `{"action": "process", "data_id": "big", "seconds": 600}`); status != http.StatusOK {
		t.Fatalf("starting the task: %d %s", status, body)
	}
	p.Signal(t, syscall.SIGTERM)
	testkit.Eventually(t, "the drain to begin", func() bool {
		status, _ := p.Invoke(t, `{"action": "status"}`)
		return status == http.StatusServiceUnavailable
	})
	p.Signal(t, syscall.SIGINT)
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if len(p.Lines("second signal: cutting the drain short")) != 1 ||
		len(p.Lines("task did not finish before shutdown; cancelled")) != 1 {
		t.Fatalf("logs lack the cut; logs:\n%s", p.Logs.String())
	}
	// The drain timeout (10 min) did not cut anything: the signal did.
	if len(p.Lines("tasks cut by the drain timeout")) != 0 || len(p.Lines("tasks cut by a second signal")) != 1 {
		t.Fatalf("the log does not say the second signal cut the tasks; logs:\n%s", p.Logs.String())
	}
}
