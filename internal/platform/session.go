package platform

import (
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// reason is why a session ended.
type reason int

const (
	reasonIdle      reason = iota + 1 // idle for the idle timeout
	reasonLifetime                    // reached the max lifetime
	reasonStopped                     // StopRuntimeSession
	reasonUnhealthy                   // unhealthyAfter failed pings in a row
	reasonCrashed                     // the agent exited on its own
	reasonShutdown                    // the emulator stopped
)

func (r reason) String() string {
	switch r {
	case reasonIdle:
		return "idle"
	case reasonLifetime:
		return "lifetime"
	case reasonStopped:
		return "stopped"
	case reasonUnhealthy:
		return "unhealthy"
	case reasonCrashed:
		return "crashed"
	case reasonShutdown:
		return "shutdown"
	}
	return "unknown"
}

// state is where a session is in its life.
type state int

const (
	stateStarting    state = iota // the agent is starting; invocations wait
	stateRunning                  // invocations are forwarded
	stateTerminating              // no longer reachable by its id; the agent is being stopped
)

func (s state) String() string {
	return [...]string{"starting", "running", "terminating"}[s]
}

// session is one runtime session: one agent process, from its first
// invocation to its end. Its loop (run) is its only goroutine; the Emulator
// starts it and waits for it.
type session struct {
	id      string
	e       *Emulator
	log     zerolog.Logger
	created time.Time // the max lifetime runs from here

	ready    chan struct{} // closed once agent or startErr is set
	agent    agent
	startErr error

	stop     chan struct{} // closed by StopRuntimeSession
	stopOnce sync.Once
	// poke wakes the loop to recompute its deadline after an invocation
	// arrived. Size 1: a full channel already holds a wake-up.
	poke chan struct{}
	// gone is cancelled once the agent has exited, cutting the forwards
	// still open, as the end of a microVM cuts its connections.
	gone       context.Context
	cancelGone context.CancelFunc

	mu             sync.Mutex // guards the fields below: invocations and the loop write them, Sessions reads them
	state          state
	lastInvocation time.Time
	last           pingAnswer
	answered       bool
	invocations    int
	inFlight       int
}

func newSession(e *Emulator, id string, now time.Time) *session {
	gone, cancel := context.WithCancel(context.Background())
	return &session{
		id: id, e: e, created: now, lastInvocation: now,
		log:   e.log.With().Str("session_id", id).Logger(),
		ready: make(chan struct{}), stop: make(chan struct{}), poke: make(chan struct{}, 1),
		gone: gone, cancelGone: cancel,
	}
}

// arrive records an invocation's arrival: it resets the idle clock.
func (s *session) arrive(now time.Time) {
	s.mu.Lock()
	if now.After(s.lastInvocation) {
		s.lastInvocation = now
	}
	s.invocations++
	s.inFlight++
	s.mu.Unlock()
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// release ends an invocation's hold on the session's bookkeeping; it never
// holds the session alive.
func (s *session) release() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// requestStop asks the loop to end the session; safe to call twice.
func (s *session) requestStop() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// run is the session's life: start the agent, watch it, end it.
func (s *session) run() {
	defer s.cancelGone()
	a, err := s.e.cfg.launch(s.e.ctx, s.id)
	if err != nil {
		s.startErr = err
		s.e.forget(s)
		close(s.ready)
		s.log.Error().Err(err).Msg("session failed to start")
		return
	}
	s.agent = a
	s.mu.Lock()
	s.state = stateRunning
	s.lastInvocation = time.Now() // the first invocation is delivered now: a slow start is not idle time
	s.mu.Unlock()
	s.log.Info().Int("pid", a.PID()).Int("port", a.Port()).Dur("startup", time.Since(s.created)).Msg("session started")
	close(s.ready)
	s.end(s.watch())
}

func (s *session) setState(st state) {
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
}

// watch pings the agent every PingInterval and returns why the session
// must end.
func (s *session) watch() reason {
	ping := time.NewTicker(s.e.cfg.PingInterval)
	defer ping.Stop()
	deadline := time.NewTimer(s.e.cfg.MaxLifetime)
	defer deadline.Stop()
	failures := 0
	for {
		v, due := s.e.reapIfDue(s, time.Now())
		if due {
			s.logDue(v)
			return v.why
		}
		deadline.Reset(time.Until(v.at))
		select {
		case <-s.e.ctx.Done():
			s.e.forget(s)
			return reasonShutdown
		case <-s.agent.Exited():
			s.e.forget(s)
			return reasonCrashed
		case <-s.stop:
			return reasonStopped // StopRuntimeSession forgot it already
		case <-ping.C:
			if s.pingOnce(&failures) {
				s.e.forget(s)
				return reasonUnhealthy
			}
		case <-s.poke:
		case <-deadline.C:
		}
	}
}

// pingOnce asks /ping and records the answer; it reports whether the
// session has now failed unhealthyAfter pings in a row.
func (s *session) pingOnce(failures *int) (unhealthy bool) {
	ctx, cancel := context.WithTimeout(s.e.ctx, s.e.cfg.PingTimeout)
	defer cancel()
	a, err := s.agent.Ping(ctx)
	if err != nil {
		*failures++
		s.log.Warn().Err(err).Int("failures", *failures).Msg("ping failed")
		return *failures >= unhealthyAfter
	}
	*failures = 0
	s.record(a)
	return false
}

// record keeps a ping's answer and logs what a user must know about it: a
// status change, and once each the two bugs the platform punishes.
func (s *session) record(a pingAnswer) {
	s.mu.Lock()
	prev, answered := s.last, s.answered
	s.last, s.answered = a, true
	s.mu.Unlock()
	if !answered || prev.Status != a.Status {
		ev := s.log.Info()
		if answered { // the first answer has nothing to change from
			ev = ev.Str("from", prev.Status)
		}
		ev.Str("to", a.Status).RawJSON("time_of_last_update", rawOrNull(a.Raw)).Msg("status changed")
	}
	switch {
	case !a.Stamped && (!answered || prev.Stamped):
		s.log.Warn().RawJSON("time_of_last_update", rawOrNull(a.Raw)).
			Msg("ping has no integer time_of_last_update: the platform does not let this session be held, whatever its status")
	case answered && a.Stamped && prev.Stamped && prev.Status == a.Status && !a.Updated.Equal(prev.Updated):
		s.log.Warn().Str("status", a.Status).Int64("from", prev.Updated.Unix()).Int64("to", a.Updated.Unix()).
			Msg("time_of_last_update changed without a status change: re-stamping keeps the session alive until its max lifetime")
	}
}

// rawOrNull is a JSON value for the logs: a missing field is null.
func rawOrNull(raw string) []byte {
	if raw == "" {
		return []byte("null")
	}
	return []byte(raw)
}

// verdict is when a session ends unless something changes, and why.
type verdict struct {
	at    time.Time
	why   reason
	since time.Time // where the idle clock runs from, for reasonIdle
	clock string    // what set since: "last invocation" or "time_of_last_update"
}

// dueLocked is the session's verdict; s.mu is held.
func (s *session) dueLocked() verdict {
	end := verdict{at: s.created.Add(s.e.cfg.MaxLifetime), why: reasonLifetime}
	since, held := idleClock(s.lastInvocation, s.last, s.answered)
	if held {
		return end
	}
	idle := verdict{at: since.Add(s.e.cfg.IdleTimeout), why: reasonIdle, since: since, clock: "last invocation"}
	if !since.Equal(s.lastInvocation) {
		idle.clock = "time_of_last_update"
	}
	if idle.at.Before(end.at) {
		return idle
	}
	return end
}

func (s *session) logDue(v verdict) {
	if v.why == reasonIdle {
		s.log.Info().Dur("idle", time.Since(v.since)).Time("since", v.since).Str("clock", v.clock).Msg("session idle")
	}
}

// end stops the agent as the platform does (SIGTERM, then SIGKILL after
// the grace), kills what is left of its process group, and logs how it
// ended.
func (s *session) end(why reason) {
	s.setState(stateTerminating)
	how, signalled := "exited on its own", time.Time{}
	if why != reasonCrashed {
		s.log.Info().Stringer("reason", why).Int("pid", s.agent.PID()).Msg("session terminating")
		signalled = time.Now()
		how = s.terminate()
	}
	s.agent.Signal(syscall.SIGKILL) // whatever the agent started and left behind
	s.cancelGone()
	s.e.releasePort(s.agent.Port())
	exit := s.agent.Exit()
	ev := s.log.Info()
	if why == reasonCrashed || why == reasonUnhealthy {
		ev = s.log.Warn()
	}
	if !signalled.IsZero() {
		ev = ev.Dur("stop", time.Since(signalled))
	}
	ev.Stringer("reason", why).Int("pid", s.agent.PID()).Int("exit_code", exit.Code).Str("signal", exit.Signal).
		Str("how", how).Dur("age", time.Since(s.created)).Msg("session ended")
}

// terminate sends SIGTERM, waits up to StopGrace, then SIGKILLs.
func (s *session) terminate() (how string) {
	s.agent.Signal(syscall.SIGTERM)
	grace := time.NewTimer(s.e.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-s.agent.Exited():
		return "exited after SIGTERM"
	case <-grace.C:
	}
	s.agent.Signal(syscall.SIGKILL)
	<-s.agent.Exited()
	return "killed after the stop grace"
}
