package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// agent is one session's running agent, as the session loop sees it.
type agent interface {
	// PID and Port identify it in the logs and in GET /sessions.
	PID() int
	Port() int
	// Base is the URL its /invocations is under.
	Base() string
	// Ping asks /ping once.
	Ping(ctx context.Context) (pingAnswer, error)
	// Signal signals its whole process group; signalling one that has
	// exited is not an error.
	Signal(sig syscall.Signal)
	// Exited is closed once it has exited; Exit is then how.
	Exited() <-chan struct{}
	Exit() exitStatus
}

// launcher starts an agent for a session and returns once its /ping answers.
type launcher func(ctx context.Context, sessionID string) (agent, error)

// exitStatus is how an agent process ended.
type exitStatus struct {
	Code   int    // the exit code, -1 when a signal ended it
	Signal string // the signal that ended it, if one did
}

// ErrAgentStart is an agent that did not start: the command failed, or the
// process exited or stayed silent before its /ping answered.
var ErrAgentStart = errors.New("agent did not start")

// process is an agent running as a real process in its own process group,
// so that signals reach whatever it started too.
type process struct {
	cmd    *exec.Cmd
	port   int
	base   string
	client *http.Client
	exited chan struct{} // closed by the Wait goroutine once the process has exited
}

// startProcess starts command with PORT set to port and waits for its /ping to answer 200. A process that fails to start is
// killed, group and all, and waited for.
func startProcess(ctx context.Context, command []string, port int, out io.Writer, client *http.Client, timeout time.Duration) (*process, error) {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAgentStart, err)
	}
	p := &process{cmd: cmd, port: port, base: "http://127.0.0.1:" + strconv.Itoa(port), client: client, exited: make(chan struct{})}
	go func() { // owned by p: ends when the process exits, which Signal ensures
		_ = cmd.Wait() // the outcome is read from ProcessState
		close(p.exited)
	}()
	if err := p.awaitPing(ctx, timeout); err != nil {
		p.Signal(syscall.SIGKILL)
		<-p.exited
		return nil, fmt.Errorf("%w: %w", ErrAgentStart, err)
	}
	return p, nil
}

// freePort is a loopback port that was free a moment ago. The agent binds it
// a little later: the Emulator keeps the ports of its own sessions
// (reservePort), as two agents told the same port would answer each
// other's pings; another program could still take it in between, which an
// agent that cannot listen reports as a failed start or a crash.
func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// The start poll: a start is usually tens of milliseconds and the wait is
// part of the first invocation's latency, so the first polls come quickly;
// the interval then doubles, so that a hundred agents starting at once do
// not spend the CPU they need on refused connections.
const (
	startPollFirst = 5 * time.Millisecond
	startPollMax   = 100 * time.Millisecond
)

// awaitPing polls /ping until it answers 200, the process exits, or timeout;
// a ping that hangs is cut by the same deadline.
func (p *process) awaitPing(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	poll := time.NewTimer(startPollFirst)
	defer poll.Stop()
	for wait := startPollFirst; ; wait = min(2*wait, startPollMax) {
		if _, err := p.Ping(ctx); err == nil {
			return nil
		}
		poll.Reset(wait)
		select {
		case <-p.exited:
			return fmt.Errorf("exited before answering /ping (%s)", p.Exit())
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("no answer from /ping on port %d within %v", p.port, timeout)
			}
			return ctx.Err()
		case <-poll.C:
		}
	}
}

func (p *process) PID() int                { return p.cmd.Process.Pid }
func (p *process) Port() int               { return p.port }
func (p *process) Base() string            { return p.base }
func (p *process) Exited() <-chan struct{} { return p.exited }

// Signal signals the process group. ESRCH, a group already gone, is the
// expected end of a stop, so errors are not reported.
func (p *process) Signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Exit is how the process ended; call it once Exited is closed.
func (p *process) Exit() exitStatus {
	st := p.cmd.ProcessState
	if st == nil {
		return exitStatus{Code: -1}
	}
	e := exitStatus{Code: st.ExitCode()}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal().String()
	}
	return e
}

func (e exitStatus) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return "exit code " + strconv.Itoa(e.Code)
}

// Ping asks /ping once. Anything but a 200 with a readable body fails.
func (p *process) Ping(ctx context.Context) (pingAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/ping", nil)
	if err != nil {
		return pingAnswer{}, err
	}
	res, err := p.client.Do(req)
	if err != nil {
		return pingAnswer{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxPingBody))
	if err != nil {
		return pingAnswer{}, err
	}
	if res.StatusCode != http.StatusOK {
		return pingAnswer{}, fmt.Errorf("/ping answered %d", res.StatusCode)
	}
	return parsePing(body)
}

// maxPingBody bounds what a ping reads: the answer is about 60 bytes.
const maxPingBody = 64 << 10
