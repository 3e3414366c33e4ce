// Package proctest runs a program under test as a real process, as a user
// or the platform would: built with the go command, started in a process
// group of its own on a loopback port, its JSON log lines captured, stopped
// by a signal. cmd/agent's tests run the seed agent and `make run` with it,
// examples/kitchensink's the kitchensink.
//
//	var agent = proctest.NewBinary(".") // built on first use; Remove it in TestMain
//
//	addr := proctest.FreeAddr(t)
//	p := proctest.Start(t, exec.Command(agent.Path(t), "-addr", addr), "http://"+addr)
//	p.Signal(t, syscall.SIGTERM)
//	if code := p.WaitExit(t); code != 0 { ... }
package proctest

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

	"github.com/agentvisor/agentvisor/internal/logbuf"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// Timeout bounds every wait here: for a process to answer or to exit. A
// process that takes longer is a failure, not a slow machine.
const Timeout = testkit.Timeout

// Binary is a main package built once per test binary, on first use.
type Binary struct {
	build func() (string, error)

	mu  sync.Mutex // guards dir, which build sets and Remove reads
	dir string
}

// NewBinary is the main package pkg, a path as the go command takes it.
func NewBinary(pkg string) *Binary {
	b := &Binary{}
	b.build = sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "proctest")
		if err != nil {
			return "", err
		}
		b.mu.Lock()
		b.dir = dir
		b.mu.Unlock()
		bin := filepath.Join(dir, "prog")
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
		return bin, nil
	})
	return b
}

// Path builds the program the first time and returns the binary's path.
func (b *Binary) Path(tb testing.TB) string {
	tb.Helper()
	bin, err := b.build()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Remove deletes the binary, if it was built; call it from TestMain.
func (b *Binary) Remove() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Proc is a program running in its own process group.
type Proc struct {
	// Base is the URL it serves, like http://127.0.0.1:8080.
	Base string
	// Logs holds what it writes on stderr.
	Logs   *logbuf.Buffer
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
}

// Start starts cmd in a process group of its own, with its stderr in Logs,
// and waits for GET base/ping to answer 200. When the test ends the whole
// group is killed (a `make run` leaves no agent behind) and waited for.
func Start(tb testing.TB, cmd *exec.Cmd, base string) *Proc {
	tb.Helper()
	p := &Proc{Base: base, Logs: &logbuf.Buffer{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = p.Logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		_ = cmd.Wait() // the exit code is read from ProcessState
		close(p.exited)
	}()
	tb.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // ESRCH once the group is gone
		<-p.exited
	})
	testkit.Eventually(tb, "the program to answer /ping", func() bool {
		status, _ := p.Get("/ping")
		return status == http.StatusOK || p.Exited()
	})
	if p.Exited() {
		tb.Fatalf("%s exited before answering /ping; logs:\n%s", cmd.Path, p.Logs.String())
	}
	return p
}

// Signal sends sig to the whole process group, as a terminal's Ctrl-C does.
func (p *Proc) Signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		tb.Fatal(err)
	}
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// WaitExit waits up to Timeout for the process to exit and returns its exit
// code (-1 if a signal ended it).
func (p *Proc) WaitExit(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(Timeout):
		tb.Fatalf("%s did not exit; logs:\n%s", p.cmd.Path, p.Logs.String())
		return -1
	}
}

// Get answers GET path's status and body, status 0 when there is no answer.
func (p *Proc) Get(path string) (int, string) {
	res, err := http.Get(p.Base + path)
	if err != nil {
		return 0, ""
	}
	return read(res)
}

// Invoke posts body to /invocations and answers the status and body.
func (p *Proc) Invoke(tb testing.TB, body string) (int, string) {
	tb.Helper()
	res, err := http.Post(p.Base+"/invocations", "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	return read(res)
}

func read(res *http.Response) (int, string) {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Lines returns the JSON log lines whose message is msg; other lines (make's
// echo of a command, say) are passed over.
func (p *Proc) Lines(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(p.Logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}
