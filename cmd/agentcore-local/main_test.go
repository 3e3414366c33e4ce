package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/proctest"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

var (
	emulatorBinary = proctest.NewBinary(".")
	agentBinary    = proctest.NewBinary("github.com/agentvisor/agentvisor/cmd/agent")
)

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { emulatorBinary.Remove(); agentBinary.Remove() }))
}

// The flags and their defaults, as issue 12 gives them.
func TestParseConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := parseConfig([]string{"--", "./bin/agent", "-debug"}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		p := cfg.platform
		if cfg.addr != "127.0.0.1:8090" || p.IdleTimeout != 900*time.Second || p.MaxLifetime != 8*time.Hour ||
			p.PingInterval != 2*time.Second || p.StopGrace != 15*time.Second || p.StartTimeout != 30*time.Second || cfg.logFormat != "auto" {
			t.Errorf("defaults: %+v", cfg)
		}
		if strings.Join(p.Command, " ") != "./bin/agent -debug" {
			t.Errorf("command %q", p.Command)
		}
	})
	tests := []struct {
		name string
		args []string
		// want is in the error; empty: no error.
		want string
	}{
		{"every flag", []string{"-addr", "127.0.0.1:0", "-idle-timeout", "60s", "-max-lifetime", "8h", "-ping-interval", "200ms",
			"-stop-grace", "1s", "-start-timeout", "5s", "-log-format", "json", "--", "agent"}, ""},
		{"no command", []string{"-idle-timeout", "3s"}, "no agent command"},
		{"no command after --", []string{"--"}, "no agent command"},
		{"zero idle timeout", []string{"-idle-timeout", "0s", "--", "agent"}, "-idle-timeout 0s"},
		{"negative grace", []string{"-stop-grace", "-1s", "--", "agent"}, "-stop-grace -1s"},
		{"not a duration", []string{"-ping-interval", "2", "--", "agent"}, "invalid value"},
		{"bad address", []string{"-addr", "8090", "--", "agent"}, "-addr"},
		{"bad log format", []string{"-log-format", "xml", "--", "agent"}, "-log-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, &bytes.Buffer{})
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// -h prints every flag with its default and exits cleanly.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`-addr string`, `(default "127.0.0.1:8090")`, `-idle-timeout duration`, `(default 15m0s)`,
		`-max-lifetime duration`, `(default 8h0m0s)`, `-ping-interval duration`, `(default 2s)`, `-stop-grace duration`, `(default 15s)`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := parseConfig([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// The command in front of the seed agent: an invocation starts a session,
// GET /sessions lists it, SIGTERM ends it (the agent drains and exits 0)
// and the command exits 0, leaving no agent.
func TestCommand(t *testing.T) {
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(emulatorBinary.Path(t), "-addr", addr, "-idle-timeout", "1m", "-ping-interval", "200ms",
		"--", agentBinary.Path(t), "-drain-timeout", "200ms")
	em := proctest.Start(t, cmd, "http://"+addr)
	req, _ := http.NewRequest(http.MethodPost, em.Base+"/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A1%3Aruntime%2Fa/invocations",
		strings.NewReader(`{"action": "process", "data_id": "x", "seconds": 60}`))
	req.Header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", strings.Repeat("c", 40))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("invocation: %d", res.StatusCode)
	}
	testkit.Eventually(t, "the session to turn busy", func() bool {
		_, body := em.Get("/sessions")
		return strings.Contains(body, `"status": "HealthyBusy"`) && strings.Contains(body, `"held": true`)
	})
	pid := int(em.Lines("session started")[0]["pid"].(float64))
	em.Signal(t, syscall.SIGTERM)
	if code := em.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d; logs:\n%s", code, em.Logs.String())
	}
	ended := em.Lines("session ended")
	if len(ended) != 1 || ended[0]["reason"] != "shutdown" || ended[0]["exit_code"] != 0.0 {
		t.Errorf("ended: %v", ended)
	}
	if len(em.Lines("task did not finish before shutdown; cancelled")) != 1 {
		t.Errorf("the agent's drain is not in the logs:\n%s", em.Logs.String())
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("agent %s still there: %v", strconv.Itoa(pid), err)
	}
}
