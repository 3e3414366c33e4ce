package supervisor

import (
	"maps"
	"sync"
)

// Where recovered panics happened, as counted by Panics.
const (
	PanicTask      = "task"
	PanicPingFunc  = "ping_func"
	PanicHandler   = "handler"
	PanicStream    = "stream"
	PanicWebSocket = "websocket"
	PanicHTTP      = "http" // the HTTP layer itself, outside user code
)

// panicCounts counts panics recovered outside the supervisor (HTTP handlers,
// streams, WebSocket handlers), by where they happened.
type panicCounts struct {
	mu     sync.Mutex // guards counts
	counts map[string]uint64
}

// RecordPanic counts a panic recovered in user code at source (PanicHandler,
// PanicStream, PanicWebSocket, or a name of the caller's); the caller logs it
// with its stack. Task and ping-function panics are counted by the
// supervisor itself.
func (s *Supervisor) RecordPanic(source string) {
	s.panics.mu.Lock()
	defer s.panics.mu.Unlock()
	if s.panics.counts == nil {
		s.panics.counts = make(map[string]uint64)
	}
	s.panics.counts[source]++
}

// Panics returns how many panics were recovered in user code, by source;
// sources with none are left out.
func (s *Supervisor) Panics() map[string]uint64 {
	s.panics.mu.Lock()
	out := maps.Clone(s.panics.counts)
	s.panics.mu.Unlock()
	if out == nil {
		out = make(map[string]uint64)
	}
	for source, n := range map[string]uint64{PanicTask: s.cast.Counters.Panics.Load(), PanicPingFunc: s.probe.panics.Load()} {
		if n > 0 {
			out[source] = n
		}
	}
	return out
}
