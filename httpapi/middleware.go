package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/agentvisor/agentvisor/supervisor"
)

// middleware wraps the whole router, outermost first, so that 404s, 405s
// and panics are logged like any other request:
//
//	requestContext   request_id and session_id, and a logger that carries
//	                 them, in the request's context (what hlog.FromRequest finds)
//	observe          one access line per request, with status, size and
//	                 duration; a panic becomes a 500 and a logged stack
//	limitBody        bodies over the limit are refused with 413
func (s *Server) middleware(h http.Handler) http.Handler {
	h = limitBody(s.cfg.MaxBodyBytes)(h)
	h = s.observe(h)
	return requestContext(s.log)(h)
}

// requestContext reads the platform's request id (hlog.RequestIDHandler
// would always make a new one) and the session id, and builds the request's
// logger with them: one copy of the request for both, where hlog.NewHandler
// and a logger update would make two.
func requestContext(log zerolog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ids := requestIDs{request: header(r.Header, requestIDKey), session: header(r.Header, sessionIDKey)}
			if ids.request == "" {
				ids.request = uuid.NewString()
			}
			c := log.With().Str("request_id", ids.request)
			if ids.session != "" {
				c = c.Str("session_id", ids.session)
			}
			l := c.Logger()
			ctx := context.WithValue(l.WithContext(r.Context()), requestIDsKey{}, ids)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// accessLog writes the request line. /ping is polled every two seconds for
// a session's whole life, so it is logged at debug level only; status
// changes are logged by the supervisor. So are the debug page's and `agent
// tree -watch`'s reads, once a second each.
func accessLog(r *http.Request, status, size int, duration time.Duration) {
	l := hlog.FromRequest(r)
	ev := l.Info()
	switch {
	case r.URL.Path == "/ping", isDebugRead(r, status):
		ev = l.Debug()
	case status >= http.StatusInternalServerError:
		ev = l.Error()
	}
	ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
		Int("size", size).Dur("duration", duration).Msg("request")
}

// isDebugRead is a successful GET of a debug endpoint. A 404 there (debug
// mode off) is logged like any unknown path.
func isDebugRead(r *http.Request, status int) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/debug/") && status < http.StatusBadRequest
}

// observe writes the access line of every request, and recovers a panic as
// the last line of defence (the entrypoint, streams and WebSocket handlers
// recover their own with a better answer): a 500, a logged stack. One
// response wrapper serves both.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &responseRecorder{ResponseWriter: w}
		defer func() {
			v := recover()
			if v != nil && v != http.ErrAbortHandler { // net/http aborts a response with the latter; let it
				s.recoverPanic(rec, r, v)
			}
			accessLog(r, rec.status, rec.size, time.Since(start))
			if v == http.ErrAbortHandler {
				panic(v)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) recoverPanic(rec *responseRecorder, r *http.Request, v any) {
	s.sup.RecordPanic(supervisor.PanicHTTP)
	hlog.FromRequest(r).Error().Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).Msg("panic serving request")
	if rec.status == 0 {
		writeError(rec, r, ErrInternal) // logged above, with the stack
	}
}

// responseRecorder remembers the status and size of the response, for the
// access line, and whether it has started, so that a panic after that does
// not write a second status line into the body.
type responseRecorder struct {
	http.ResponseWriter
	status int // the final status sent, 0 until then
	size   int // body bytes written
}

func (t *responseRecorder) WriteHeader(code int) {
	if t.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		t.status = code
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *responseRecorder) Write(b []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	n, err := t.ResponseWriter.Write(b)
	t.size += n
	return n, err
}

// Unwrap lets http.ResponseController and the WebSocket library reach the
// connection's Flusher and Hijacker.
func (t *responseRecorder) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// limitBody refuses a declared length over max at once and cuts a body that
// grows past it; the reader's error becomes a 413 where the body is read.
func limitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > maxBytes {
				writeError(w, r, bodyTooLarge(maxBytes))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			next.ServeHTTP(w, r)
		})
	}
}

func bodyTooLarge(maxBytes int64) error {
	return withDetails(ErrBodyTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBytes))
}
