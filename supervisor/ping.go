package supervisor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentvisor/agentvisor/actors"
	"github.com/agentvisor/agentvisor/internal/errtext"
)

// PingFunc is a custom ping function: it decides the status when no status
// is forced. It must honour ctx, which ends after Config.PingFuncTimeout.
type PingFunc func(ctx context.Context) (Status, error)

// errPingFuncTimeout is a custom ping function that did not answer in time.
var errPingFuncTimeout = errors.New("custom ping function did not answer in time")

// pingSource wraps a PingFunc so that each SetPingFunc has its own identity.
type pingSource struct{ fn PingFunc }

// PingStatus returns the status /ping reports now and when it last changed.
// A forced status wins over the custom ping function, which wins over the
// automatic status (HealthyBusy while a task is tracked). A custom function
// that fails, panics, answers an invalid status or takes longer than
// Config.PingFuncTimeout is logged and the automatic status is used.
func (s *Supervisor) PingStatus() Ping {
	snap := s.cast.Status.Snapshot()
	src := s.pingFunc.Load()
	if snap.Forced != actors.StatusUnset || src == nil {
		return pingOf(snap.Ping)
	}
	custom, err := s.probe.run(src)
	if err != nil {
		s.log.Warn().Err(err).Msg("custom ping function failed; using the automatic status")
		custom = 0
	}
	if actors.Status(custom) == snap.Custom {
		return pingOf(snap.Ping)
	}
	r := actors.NewRequest[actors.Ping]()
	p, err := command(s, s.cast.StatusPID, &actors.ObserveCustom{Source: src, Status: actors.Status(custom), Reply: r}, r)
	if err != nil {
		return pingOf(s.cast.Status.Snapshot().Ping)
	}
	return pingOf(p)
}

// ForcePingStatus makes /ping report st whatever else is true, until
// ClearForcedPingStatus. The next PingStatus already reports it.
func (s *Supervisor) ForcePingStatus(st Status) error {
	if !st.Valid() {
		return fmt.Errorf("force ping status %d: %w", st, ErrInvalidStatus)
	}
	return s.force(actors.Status(st))
}

// ClearForcedPingStatus removes the forced status.
func (s *Supervisor) ClearForcedPingStatus() error { return s.force(actors.StatusUnset) }

func (s *Supervisor) force(st actors.Status) error {
	r := actors.NewRequest[actors.Ping]()
	_, err := command(s, s.cast.StatusPID, &actors.ForceStatus{Status: st, Reply: r}, r)
	return err
}

// SetPingFunc installs fn as the custom ping function; nil removes it.
func (s *Supervisor) SetPingFunc(fn PingFunc) error {
	var src *pingSource
	if fn != nil {
		src = &pingSource{fn: fn}
	}
	var source any
	if src != nil {
		source = src
	}
	// One call at a time, so that the function stored here and the one the
	// status actor knows are the same one; a call that fails changes neither.
	s.setPing.Lock()
	defer s.setPing.Unlock()
	prev := s.pingFunc.Swap(src)
	r := actors.NewRequest[actors.Ping]()
	if _, err := command(s, s.cast.StatusPID, &actors.SetCustomSource{Source: source, Reply: r}, r); err != nil {
		s.pingFunc.Store(prev)
		return err
	}
	return nil
}

// probe runs the custom ping function at most once at a time: concurrent
// pings share the call in flight, and a call that hangs past the timeout is
// not waited for again, so /ping stays fast whatever the function does. A
// call of a function since replaced by SetPingFunc is not shared: the new
// function gets a call of its own at once.
type probe struct {
	timeout time.Duration
	running sync.WaitGroup // the probe goroutines; Shutdown waits for them
	panics  atomic.Uint64  // calls that panicked

	mu       sync.Mutex // guards inflight
	inflight *probeCall
}

type probeCall struct {
	src      *pingSource
	deadline time.Time
	done     chan struct{} // closed when status and err are set
	status   Status
	err      error
}

func (p *probe) run(src *pingSource) (Status, error) {
	p.mu.Lock()
	call := p.inflight
	if call == nil || call.src != src {
		call = &probeCall{src: src, deadline: time.Now().Add(p.timeout), done: make(chan struct{})}
		p.inflight = call
		p.running.Add(1)
		go p.invoke(call)
	}
	p.mu.Unlock()
	wait := time.NewTimer(time.Until(call.deadline))
	defer wait.Stop()
	select {
	case <-call.done:
		return call.status, call.err
	case <-wait.C:
		return 0, fmt.Errorf("%w (%s)", errPingFuncTimeout, p.timeout)
	}
}

func (p *probe) invoke(call *probeCall) {
	defer p.running.Done()
	ctx, cancel := context.WithDeadline(context.Background(), call.deadline)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			call.err = fmt.Errorf("custom ping function panicked: %v\n%s", r, debug.Stack())
			p.panics.Add(1)
		}
		p.mu.Lock()
		if p.inflight == call {
			p.inflight = nil
		}
		p.mu.Unlock()
		close(call.done)
	}()
	status, err := call.src.fn(ctx)
	call.status, call.err = status, errtext.Safe(err)
	if call.err == nil && !call.status.Valid() {
		call.err = fmt.Errorf("custom ping function answered %d: %w", call.status, ErrInvalidStatus)
	}
}
