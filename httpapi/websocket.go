package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/agentvisor/agentvisor/internal/errtext"
	"github.com/agentvisor/agentvisor/supervisor"
)

// WebSocketHandler serves one WebSocket session on /ws. req carries the
// upgrade request's context (session id, request id, headers; no payload).
// ctx ends when the server shuts down; pass it to conn's Read and Write.
// Returning nil closes the connection normally (1000); an error or a panic
// closes it with 1011 (internal error) and is logged. The handler need not
// close conn itself.
type WebSocketHandler func(ctx context.Context, conn *websocket.Conn, req *Request) error

// maxCloseReason is the longest close reason a close frame can carry.
const maxCloseReason = 123

// serveWebSocket upgrades GET /ws and runs the WebSocket handler.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	switch {
	case s.cfg.WebSocket == nil:
		writeError(w, r, ErrNoWebSocketHandler)
		return
	case s.draining.Load():
		writeError(w, r, ErrDraining)
		return
	case !isUpgrade(r):
		w.Header().Set("Upgrade", "websocket")
		writeError(w, r, ErrUpgradeRequired)
		return
	}
	sess, ok := s.sessions.open(r.Context())
	if !ok {
		writeError(w, r, ErrDraining)
		return
	}
	defer sess.end()
	hj := &frameHijacker{ResponseWriter: w, maxBytes: s.cfg.WebSocketMaxMessageBytes, timeout: s.cfg.WebSocketMessageTimeout}
	conn, err := websocket.Accept(hj, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.WebSocketOrigins})
	if err != nil { // Accept has answered the client
		hlog.FromRequest(r).Info().Err(err).Msg("WebSocket upgrade refused")
		return
	}
	conn.SetReadLimit(s.cfg.WebSocketMaxMessageBytes) // frameConn refuses larger messages first, with a clearer reason
	sess.goAwayOnShutdown(conn)
	err = s.runWebSocket(sess.ctx, conn, newRequest(r, nil))
	switch cause := hj.conn.failure(); {
	case sess.shuttingDown():
		// the going-away hook closes the connection, with 1001
	case cause != nil: // whatever the handler made of its failed read
		zerolog.Ctx(sess.ctx).Info().Str("reason", cause.reason).Msg("WebSocket session cut")
		_ = conn.Close(cause.code, cause.reason)
	default:
		closeWebSocket(sess.ctx, conn, err)
	}
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// runWebSocket calls the handler, turning a panic into a *PanicError, and
// its error into one whose Error cannot panic (the close reason is its text).
func (s *Server) runWebSocket(ctx context.Context, conn *websocket.Conn, req *Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = s.recovered(ctx, v, supervisor.PanicWebSocket)
		}
	}()
	return errtext.Safe(s.cfg.WebSocket(ctx, conn, req))
}

// closeWebSocket ends the session as the handler's outcome says.
func closeWebSocket(ctx context.Context, conn *websocket.Conn, err error) {
	switch {
	case err == nil:
		_ = conn.Close(websocket.StatusNormalClosure, "")
	case websocket.CloseStatus(err) != -1: // the client closed the session
		_ = conn.CloseNow()
	default:
		zerolog.Ctx(ctx).Error().Err(err).Msg("WebSocket handler failed")
		_ = conn.Close(websocket.StatusInternalError, closeReason(err.Error()))
	}
}

// closeReason cuts msg to fit a close frame, on a rune boundary.
func closeReason(msg string) string {
	if len(msg) <= maxCloseReason {
		return msg
	}
	msg = msg[:maxCloseReason]
	for !utf8.ValidString(msg) {
		msg = msg[:len(msg)-1]
	}
	return msg
}

// webSocketStopGrace is how long Shutdown waits for the WebSocket handlers
// at least, however short its context: the close handshake that comes
// before a handler's context is cancelled takes up to 10 s with a client
// that does not answer (the library's 5 s to write the close frame and 5 s
// for the answer), and a handler that honours its context must not be
// reported as one that ignores it.
const webSocketStopGrace = 15 * time.Second

// goingAwayReason is the close reason of the sessions Shutdown ends.
const goingAwayReason = "server shutting down"

// sessions tracks the WebSocket sessions: http.Server.Shutdown neither
// closes nor waits for hijacked connections, so the Server does.
type sessions struct {
	shutdown context.Context // done once Shutdown begins
	begin    context.CancelFunc
	wg       sync.WaitGroup // one per session, from open to end

	mu     sync.Mutex // guards closed, so that no session starts after close
	closed bool
}

func (ss *sessions) init() {
	ss.shutdown, ss.begin = context.WithCancel(context.Background())
}

// session is one WebSocket session, owned by the goroutine that serves its
// upgrade request.
type session struct {
	ctx      context.Context // the handler's: cancelled at end, or on shutdown once the client was told
	cancel   context.CancelFunc
	shutdown context.Context
	done     func()      // unregisters the session
	stop     func() bool // stops the going-away hook; nil until there is a connection
	goneAway chan struct{}
}

// open registers a session, unless the server is shutting down. Its context
// keeps the request's values (its logger) but not its cancellation: the
// session outlives the upgrade request.
func (ss *sessions) open(parent context.Context) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, false
	}
	ss.wg.Add(1)
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	return &session{ctx: ctx, cancel: cancel, shutdown: ss.shutdown, done: ss.wg.Done}, true
}

// goAwayOnShutdown arranges for conn to be closed with 1001 when the server
// shuts down, and only then for the handler's context to be cancelled: the
// library closes the connection at once when the context of a Read in
// progress ends, and the client would see the connection drop, not 1001.
func (s *session) goAwayOnShutdown(conn *websocket.Conn) {
	s.goneAway = make(chan struct{})
	s.stop = context.AfterFunc(s.shutdown, func() {
		defer close(s.goneAway)
		_ = conn.Close(websocket.StatusGoingAway, goingAwayReason)
		s.cancel()
	})
}

func (s *session) shuttingDown() bool { return s.shutdown.Err() != nil }

// end waits for the going-away hook if it has started, and unregisters.
func (s *session) end() {
	if s.stop != nil && !s.stop() {
		<-s.goneAway
	}
	s.cancel()
	s.done()
}

// close refuses new sessions and starts closing the open ones.
func (ss *sessions) close() {
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
	ss.begin()
}

// errSessionsLeft is a wait that ended before every session did.
var errSessionsLeft = errors.New("WebSocket handlers still running: they ignore their context")

// wait waits for the sessions to end, until ctx is done but at least
// webSocketStopGrace: only a handler that ignores its context outlives that.
func (ss *sessions) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // ends when the sessions do; a handler that ignores ctx keeps it, as it keeps its own goroutine
		ss.wg.Wait()
		close(done)
	}()
	grace := time.NewTimer(webSocketStopGrace)
	defer grace.Stop()
	select {
	case <-done:
		return nil
	case <-grace.C:
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	select { // done may have come with ctx's end: the select above picks either
	case <-done:
		return nil
	default:
		return fmt.Errorf("%w, %v after shutdown began: %w", errSessionsLeft, webSocketStopGrace, ctx.Err())
	}
}
