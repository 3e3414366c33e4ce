package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Errors of the data-plane API; errorTable gives each its status.
var (
	// ErrSessionID is a session id outside the platform's 33-256 characters.
	ErrSessionID = errors.New("invalid session id")
	// ErrNoSession is a StopRuntimeSession for a session that is not live.
	ErrNoSession = errors.New("no such session")
	// ErrClosed is a call after Close began.
	ErrClosed = errors.New("emulator closed")
)

// Emulator stands in for AgentCore Runtime: it serves the data-plane API
// and runs one agent process per session, ending each as the platform does.
// It is an http.Handler; Close ends every session.
type Emulator struct {
	cfg    Config
	log    zerolog.Logger
	client *http.Client // to the agents: pings and forwards

	ctx    context.Context // cancelled by Close: every session loop ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // the session loops

	mu       sync.Mutex // guards sessions, ports and closed; taken before a session's mu, never after
	sessions map[string]*session
	ports    map[int]bool // the ports of the agents not yet exited
	closed   bool
}

// New returns an Emulator for cfg; sessions start with the first
// invocation of each id.
func New(cfg Config) (*Emulator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Emulator{cfg: cfg, log: cfg.Logger.With().Str("component", "platform").Logger(), sessions: map[string]*session{}, ports: map[int]bool{}}
	e.client = &http.Client{Transport: newTransport()}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if e.cfg.launch == nil {
		e.cfg.launch = e.startAgent
	}
	return e, nil
}

// newTransport reaches agents on loopback: no proxy from the environment,
// no compression (a stream must reach the client as the agent wrote it),
// and idle connections enough for a session's keep-alive.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
}

func (e *Emulator) startAgent(ctx context.Context, _ string) (agent, error) {
	port, err := e.reservePort()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAgentStart, err)
	}
	p, err := startProcess(ctx, e.cfg.Command, port, e.cfg.AgentOutput, e.client, e.cfg.StartTimeout)
	if err != nil {
		e.releasePort(port)
		return nil, err
	}
	return p, nil
}

// reservePort is a free loopback port that no other agent of this
// Emulator was given: the kernel may hand out a port again once its probe
// is closed and before the first agent binds it.
func (e *Emulator) reservePort() (int, error) {
	for range 100 {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		e.mu.Lock()
		taken := e.ports[port]
		e.ports[port] = true
		e.mu.Unlock()
		if !taken {
			return port, nil
		}
	}
	return 0, errors.New("no free loopback port")
}

// releasePort gives a port back once its agent has exited.
func (e *Emulator) releasePort(port int) {
	e.mu.Lock()
	delete(e.ports, port)
	e.mu.Unlock()
}

// acquire is the session an invocation of id reaches, started if it is not
// live, once its agent answers /ping. The arrival resets the idle clock;
// the caller releases the session when the invocation is over.
func (e *Emulator) acquire(ctx context.Context, id string, now time.Time) (*session, error) {
	s, err := e.sessionFor(id, now)
	if err != nil {
		return nil, err
	}
	select {
	case <-s.ready:
	case <-ctx.Done():
		s.release()
		return nil, ctx.Err()
	}
	if s.startErr != nil {
		s.release()
		return nil, s.startErr
	}
	return s, nil
}

func (e *Emulator) sessionFor(id string, now time.Time) (*session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	s := e.sessions[id]
	if s == nil {
		s = newSession(e, id, now)
		e.sessions[id] = s
		e.wg.Go(s.run)
	}
	s.arrive(now) // under e.mu, so that reapIfDue sees it or the invocation gets a new session
	return s, nil
}

// reapIfDue is the session's verdict at now; when it is due, the session is
// forgotten in the same step, so an invocation arriving meanwhile either
// reset the clock or reaches a new session.
func (e *Emulator) reapIfDue(s *session, now time.Time) (verdict, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s.mu.Lock()
	v := s.dueLocked()
	s.mu.Unlock()
	if now.Before(v.at) {
		return v, false
	}
	e.forgetLocked(s)
	return v, true
}

// forget makes s unreachable by its id: the next invocation of the id
// starts a new session.
func (e *Emulator) forget(s *session) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forgetLocked(s)
}

func (e *Emulator) forgetLocked(s *session) {
	if e.sessions[s.id] == s {
		delete(e.sessions, s.id)
	}
}

// Stop ends the live session id as StopRuntimeSession does: it returns once
// the agent has been asked to stop, not once it has exited.
func (e *Emulator) Stop(id string) error {
	e.mu.Lock()
	s := e.sessions[id]
	if s != nil {
		e.forgetLocked(s)
	}
	e.mu.Unlock()
	if s == nil {
		return ErrNoSession
	}
	s.requestStop()
	return nil
}

// SessionInfo is a live session as GET /sessions lists it.
type SessionInfo struct {
	SessionID string `json:"session_id"`
	// State is starting, running or terminating.
	State string `json:"state"`
	PID   int    `json:"pid,omitempty"`
	Port  int    `json:"port,omitempty"`
	// Status is the last /ping status, empty before the first.
	Status string `json:"status"`
	// TimeOfLastUpdate is the last /ping's field as written (null when absent).
	TimeOfLastUpdate any `json:"time_of_last_update"`
	// Held is true while the last answer holds the session (HealthyBusy
	// with an integer time): no idle clock runs.
	Held bool `json:"held"`
	// IdleSeconds is how long the idle clock has run; 0 while held.
	IdleSeconds float64 `json:"idle_seconds"`
	AgeSeconds  float64 `json:"age_seconds"`
	// EndsInSeconds is how long until the session ends unless something
	// changes, and EndsBy why (idle or lifetime).
	EndsInSeconds float64 `json:"ends_in_seconds"`
	EndsBy        string  `json:"ends_by"`
	Invocations   int     `json:"invocations"`
	InFlight      int     `json:"in_flight"`
}

// Sessions lists the live sessions, oldest first.
func (e *Emulator) Sessions() []SessionInfo {
	e.mu.Lock()
	live := make([]*session, 0, len(e.sessions))
	for _, s := range e.sessions {
		live = append(live, s)
	}
	e.mu.Unlock()
	now := time.Now()
	out := make([]SessionInfo, 0, len(live))
	for _, s := range live {
		out = append(out, s.info(now))
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		return compareFloat(b.AgeSeconds, a.AgeSeconds) // oldest first
	})
	return out
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *session) info(now time.Time) SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.dueLocked()
	in := SessionInfo{SessionID: s.id, State: s.state.String(), Status: s.last.Status,
		AgeSeconds: now.Sub(s.created).Seconds(), EndsInSeconds: max(0, v.at.Sub(now).Seconds()), EndsBy: v.why.String(),
		Invocations: s.invocations, InFlight: s.inFlight, TimeOfLastUpdate: jsonOrNil(s.last.Raw)}
	_, in.Held = idleClock(s.lastInvocation, s.last, s.answered)
	if !in.Held {
		since, _ := idleClock(s.lastInvocation, s.last, s.answered)
		in.IdleSeconds = max(0, now.Sub(since).Seconds())
	}
	if s.state != stateStarting {
		in.PID, in.Port = s.agent.PID(), s.agent.Port()
	}
	return in
}

// Close ends every session (SIGTERM, the grace, SIGKILL) and waits for
// their agents to exit, or for ctx. New invocations get ErrClosed. Safe to
// call twice.
func (e *Emulator) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	done := make(chan struct{})
	go func() { // owned by Close: ends when the session loops have, which the grace bounds
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		e.client.CloseIdleConnections()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sessionIDHeader carries the session id both ways.
const sessionIDHeader = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"

// checkSessionID applies the platform's rule: 33 to 256 characters.
func checkSessionID(id string) error {
	if n := len(id); n < 33 || n > 256 {
		return errorf(ErrSessionID, "%s must be 33-256 characters, got %d", sessionIDHeader, n)
	}
	if strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return errorf(ErrSessionID, "%s must be printable ASCII without spaces", sessionIDHeader)
	}
	return nil
}
