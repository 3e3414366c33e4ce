package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// noteArrival records when an invocation or a WebSocket session arrived,
// whatever its answer: the platform's idle clock restarts at every one it
// forwards, so the debug views project the end of an idle session from it.
func (s *Server) noteArrival(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.lastArrival.Store(time.Now().UnixNano())
		next(w, r)
	}
}

// lastInvocation is when the last invocation or WebSocket session arrived,
// zero if none has.
func (s *Server) lastInvocation() time.Time {
	if ns := s.lastArrival.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// busyWhileOpen counts a request still open Config.BusyAfter after it began
// as busy until it ends (Supervisor.HoldBusy): the platform ends a session
// that /ping calls idle, a turn in flight or not. However the handler ends
// (an answer, a client that left, a panic, a drain), the hold is released.
func (s *Server) busyWhileOpen(next http.HandlerFunc) http.HandlerFunc {
	if s.cfg.BusyAfter < 0 {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		h := s.holdAfter(r)
		defer h.end()
		next(w, r)
	}
}

// busyHold is one request's hold: taken by its timer, released by end.
type busyHold struct {
	timer *time.Timer

	mu      sync.Mutex // orders the timer's hold before end's release
	ended   bool
	release func() // set once held
}

// holdAfter arranges for r to be held as busy once Config.BusyAfter has
// passed.
func (s *Server) holdAfter(r *http.Request) *busyHold {
	ids := idsFrom(r.Context())
	open := supervisor.OpenRequest{Method: r.Method, Path: r.URL.Path, SessionID: ids.session, RequestID: ids.request}
	h := &busyHold{}
	h.timer = time.AfterFunc(s.cfg.BusyAfter, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if !h.ended {
			h.release = s.sup.HoldBusy(open)
		}
	})
	return h
}

// end releases the hold, if it was taken; once it returns, no hold can
// follow.
func (h *busyHold) end() {
	if h.timer.Stop() {
		return // it never fired: nothing was held
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = true
	if h.release != nil {
		h.release()
	}
}
