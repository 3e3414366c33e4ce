package main

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/agentvisor/agentvisor/internal/proctest"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// makeCommand runs make in the repository's root with the environment of
// the test, less what would change the make under test (an outer make's
// flags, PORT, ADDR, CHROMIUM), plus env.
func makeCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not found: the README's commands need it")
	}
	cmd := exec.Command("make", append([]string{"-C", "../..", "--no-print-directory"}, args...)...)
	for _, kv := range os.Environ() {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PORT", "ADDR", "CHROMIUM":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// `make run` listens where the platform says (PORT), or where ADDR says
// when it is given; Ctrl-C stops it, and make reports no error (the agent
// exited 0).
func TestMakeRun(t *testing.T) {
	agentBinary.Path(t) // fills the build cache: go run then only links
	tests := []struct {
		name     string
		env      func(port string) []string
		wantHost string // of the listening line; the port is the free one
	}{
		{"PORT", func(port string) []string { return []string{"PORT=" + port} }, "0.0.0.0"},
		{"ADDR beats PORT", func(port string) []string { return []string{"PORT=1", "ADDR=127.0.0.1:" + port} }, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, port, _ := net.SplitHostPort(proctest.FreeAddr(t))
			p := proctest.Start(t, makeCommand(t, tt.env(port), "run"), "http://127.0.0.1:"+port)
			// The agent answers before its output has surely been read.
			testkit.Eventually(t, "the listening line", func() bool { return len(p.Lines("listening")) > 0 })
			lines := p.Lines("listening")
			if len(lines) != 1 || lines[0]["addr"] != net.JoinHostPort(tt.wantHost, port) {
				t.Fatalf("listening lines %v, want %s:%s", lines, tt.wantHost, port)
			}
			p.Signal(t, syscall.SIGINT) // Ctrl-C: make, and what it runs, get it
			// make's own exit code and lines say it was interrupted, as for any
			// command; "] Error N" would say the recipe (the agent) failed.
			p.WaitExit(t)
			if len(p.Lines("stopped")) != 1 || strings.Contains(p.Logs.String(), "] Error") {
				t.Fatalf("want the agent stopped, and its exit code 0; logs:\n%s", p.Logs.String())
			}
		})
	}
}

// `make test` says when the browser test skipped itself for want of
// chromium: go test shows a skip only with -v. GO=true stands in for the
// go command, so only the Makefile's own lines run.
func TestMakeTestSaysWhenTheBrowserTestIsSkipped(t *testing.T) {
	const note = "browser test skipped: chromium not found"
	for _, tt := range []struct {
		chromium string
		wantNote bool
	}{
		{"/nonexistent/chromium", true},
		{"/bin/sh", false}, // any executable will do: only its presence is checked
	} {
		t.Run(tt.chromium, func(t *testing.T) {
			out, err := makeCommand(t, []string{"CHROMIUM=" + tt.chromium}, "-s", "test", "GO=true").CombinedOutput()
			if err != nil {
				t.Fatalf("make test: %v\n%s", err, out)
			}
			if got := strings.Contains(string(out), note); got != tt.wantNote {
				t.Fatalf("note %q printed: %v, want %v; output:\n%s", note, got, tt.wantNote, out)
			}
		})
	}
}
