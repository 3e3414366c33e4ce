package platform_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/logbuf"
	"github.com/agentvisor/agentvisor/internal/platform"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// emulator is a platform.Emulator serving on a loopback port for one test.
type emulator struct {
	*platform.Emulator
	Base   string
	Logs   *logbuf.Buffer // the emulator's JSON lines
	Agents *logbuf.Buffer // the agents' output
}

// shortConfig is the platform shrunk for real processes: seconds, not
// minutes.
func shortConfig(command ...string) platform.Config {
	return platform.Config{Command: command, IdleTimeout: 3 * time.Second, MaxLifetime: time.Minute,
		PingInterval: 200 * time.Millisecond, StopGrace: 5 * time.Second, StartTimeout: 10 * time.Second}
}

// mustStart runs an Emulator for cfg until the test ends; it then checks
// that no agent process, nor anything an agent started, is left.
func mustStart(tb testing.TB, cfg platform.Config) *emulator {
	tb.Helper()
	em := &emulator{Logs: &logbuf.Buffer{}, Agents: &logbuf.Buffer{}}
	cfg.Logger = zerolog.New(em.Logs)
	cfg.AgentOutput = em.Agents
	e, err := platform.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	em.Emulator = e
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	em.Base = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.Run(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil {
			tb.Error(err)
		}
		if left := leftovers(tb, em.pids(tb)); len(left) > 0 {
			tb.Errorf("processes left behind: %v", left)
		}
	})
	return em
}

// sessionID is a valid session id (33-256 characters) ending in name.
func sessionID(name string) string {
	return strings.Repeat("s", 40-len(name)) + name
}

// response is an answer, read in full.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// do sends method path with the session id header (none when empty).
func (em *emulator) do(tb testing.TB, method, path, id, body string) response {
	tb.Helper()
	header := http.Header{"Content-Type": {"application/json"}}
	if id != "" {
		header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", id)
	}
	a := testkit.Do(tb, method, em.Base+path, body, header)
	return response{a.Status, a.Header, a.Body}
}

const invokePath = "/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fagent-x/invocations?qualifier=DEFAULT"

// invoke posts body as InvokeAgentRuntime for session id.
func (em *emulator) invoke(tb testing.TB, id, body string) response {
	tb.Helper()
	return em.do(tb, http.MethodPost, invokePath, id, body)
}

// lines are the emulator's log lines with message msg, for session id
// (any session when empty).
func (em *emulator) lines(tb testing.TB, msg, id string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, l := range em.Logs.Lines(tb) {
		if l["message"] == msg && (id == "" || l["session_id"] == id) {
			out = append(out, l)
		}
	}
	return out
}

// waitLine waits for the first line msg of session id and returns it.
func (em *emulator) waitLine(tb testing.TB, msg, id string) map[string]any {
	tb.Helper()
	var line map[string]any
	testkit.Eventually(tb, msg+" of "+id, func() bool {
		if ls := em.lines(tb, msg, id); len(ls) > 0 {
			line = ls[0]
		}
		return line != nil
	})
	return line
}

// live reports whether session id is listed by GET /sessions.
func (em *emulator) live(tb testing.TB, id string) bool {
	tb.Helper()
	var sessions []platform.SessionInfo
	if err := json.Unmarshal([]byte(em.do(tb, http.MethodGet, "/sessions", "", "").Body), &sessions); err != nil {
		tb.Fatal(err)
	}
	for _, s := range sessions {
		if s.SessionID == id {
			return true
		}
	}
	return false
}

// waitGone waits until session id is no longer live and returns when that
// was seen (within a poll).
func (em *emulator) waitGone(tb testing.TB, id string) time.Time {
	tb.Helper()
	testkit.Eventually(tb, "session "+id+" to end", func() bool { return !em.live(tb, id) })
	return time.Now()
}

// pids are the agents' process ids, from the "session started" lines.
func (em *emulator) pids(tb testing.TB) []int {
	var out []int
	for _, l := range em.lines(tb, "session started", "") {
		out = append(out, int(l["pid"].(float64)))
	}
	return out
}

// leftovers are the processes left in pids' process groups (an agent is
// the leader of its own, and what it starts stays in it). A zombie of ours
// counts, an agent not waited for; a zombie reparented to init does not:
// it is dead, and reaping it is init's job (this sandbox's init is slow to).
// Other tests' agents, running in parallel, are in other groups.
func leftovers(tb testing.TB, pids []int) []int {
	tb.Helper()
	groups := map[int]bool{}
	for _, p := range pids {
		groups[p] = true
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Skip("no /proc: cannot count processes")
	}
	var left []int
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		st, ok := procStat(pid)
		if ok && groups[st.pgrp] && (st.state != "Z" || st.ppid == os.Getpid()) {
			left = append(left, pid)
		}
	}
	return left
}

// stat is what leftovers reads of a process.
type stat struct {
	state      string // R, S, Z...
	ppid, pgrp int
}

// procStat reads a process's state, parent and group from /proc/pid/stat.
func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 3 {
		return stat{}, false
	}
	ppid, err1 := strconv.Atoi(fields[1])
	pgrp, err2 := strconv.Atoi(fields[2])
	return stat{fields[0], ppid, pgrp}, err1 == nil && err2 == nil
}
