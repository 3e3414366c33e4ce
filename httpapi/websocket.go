package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
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
	ctx, end, ok := s.sessions.open(r.Context())
	if !ok {
		writeError(w, r, ErrDraining)
		return
	}
	defer end()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.WebSocketOrigins})
	if err != nil { // Accept has answered the client
		hlog.FromRequest(r).Info().Err(err).Msg("WebSocket upgrade refused")
		return
	}
	err = s.runWebSocket(ctx, conn, newRequest(r, nil))
	closeWebSocket(ctx, conn, err)
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
	case ctx.Err() != nil:
		_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
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

// sessions tracks the WebSocket sessions: http.Server.Shutdown neither
// cancels nor waits for hijacked connections, so the Server does.
type sessions struct {
	ctx    context.Context // cancelled by close; each session's context follows it
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per running session

	mu     sync.Mutex // guards closed, so that no session starts after close
	closed bool
}

func (ss *sessions) init() {
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
}

// open starts a session whose context keeps the request's values (its
// logger) but lives until the session ends or the server closes.
func (ss *sessions) open(parent context.Context) (context.Context, func(), bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, nil, false
	}
	ss.wg.Add(1)
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(ss.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
		ss.wg.Done()
	}, true
}

// close refuses new sessions and cancels the open ones.
func (ss *sessions) close() {
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
	ss.cancel()
}

// errSessionsLeft is a wait that ended before every session did.
var errSessionsLeft = errors.New("WebSocket sessions still open")

// wait waits for the sessions to end, or for ctx.
func (ss *sessions) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // ends when the sessions do; a handler that ignores ctx keeps it, as it keeps its own goroutine
		ss.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errSessionsLeft, ctx.Err())
	}
}
