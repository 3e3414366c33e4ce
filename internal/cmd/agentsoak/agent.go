package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// agent is a kitchensink process on 127.0.0.1.
type agent struct {
	cmd     *exec.Cmd
	base    string
	dir     string        // temporary build folder, removed by kill
	exited  chan struct{} // closed once the process has exited
	exitErr error         // its exit, set before exited is closed
}

// startAgent builds the kitchensink (unless bin is given), starts it on a
// free loopback port and waits until /ping answers.
func startAgent(ctx context.Context, bin string) (*agent, error) {
	a := &agent{exited: make(chan struct{})}
	if bin == "" {
		dir, err := os.MkdirTemp("", "agentsoak")
		if err != nil {
			return nil, err
		}
		a.dir, bin = dir, filepath.Join(dir, "kitchensink")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/kitchensink")
		if out, err := build.CombinedOutput(); err != nil {
			a.kill()
			return nil, fmt.Errorf("build kitchensink: %w\n%s", err, out)
		}
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		a.kill()
		return nil, err
	}
	a.base = "http://" + addr
	a.cmd = exec.Command(bin, "-addr", addr)
	a.cmd.Stderr = io.Discard // its logs: task failures are part of the load
	if err := a.cmd.Start(); err != nil {
		a.kill()
		return nil, fmt.Errorf("start kitchensink: %w", err)
	}
	go func() {
		a.exitErr = a.cmd.Wait()
		close(a.exited)
	}()
	if err := a.waitReady(ctx, 10*time.Second); err != nil {
		a.kill()
		return nil, err
	}
	return a, nil
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (a *agent) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if _, err := a.ping(); err == nil {
			return nil
		}
		select {
		case <-a.exited:
			return fmt.Errorf("kitchensink exited before serving: %v", a.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // poll interval
		}
	}
	return fmt.Errorf("kitchensink not answering /ping on %s after %s", a.base, within)
}

// ping returns the status /ping reports.
func (a *agent) ping() (string, error) {
	res, err := http.Get(a.base + "/ping")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var p struct{ Status string }
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		return "", err
	}
	return p.Status, nil
}

// settle waits up to within for the agent to report Healthy, and returns the
// last status seen and how long it took.
func (a *agent) settle(ctx context.Context, within time.Duration) (string, time.Duration) {
	start := time.Now()
	status := "unreachable"
	for time.Since(start) < within && ctx.Err() == nil {
		if s, err := a.ping(); err == nil {
			if status = s; s == "Healthy" {
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	return status, time.Since(start)
}

// rss is the agent's resident set size in bytes.
func (a *agent) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// stop sends SIGTERM and waits for a clean exit, at most 20 s.
func (a *agent) stop() error {
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-a.exited:
		return a.exitErr
	case <-time.After(20 * time.Second):
		return errors.New("kitchensink did not exit within 20s of SIGTERM")
	}
}

// kill ends the agent if it still runs and removes the build folder.
func (a *agent) kill() {
	if a.cmd != nil && a.cmd.Process != nil {
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
	if a.dir != "" {
		_ = os.RemoveAll(a.dir)
	}
}
