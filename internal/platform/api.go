package platform

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ServeHTTP serves the data-plane API of AgentCore Runtime, as the AWS SDK
// calls it:
//
//	POST /runtimes/{agentRuntimeArn}/invocations[?qualifier=...]  InvokeAgentRuntime
//	POST /runtimes/{agentRuntimeArn}/stopruntimesession           StopRuntimeSession
//
// and, for people: GET /sessions (the live sessions) and GET /ping (the
// emulator is up). The ARN and the qualifier are logged and otherwise
// ignored: the emulator runs one agent.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch path := r.URL.EscapedPath(); {
	case path == "/sessions":
		e.route(w, r, http.MethodGet, e.serveSessions)
	case path == "/ping":
		e.route(w, r, http.MethodGet, servePing)
	case strings.HasPrefix(path, "/runtimes/"):
		e.serveRuntime(w, r, strings.TrimPrefix(path, "/runtimes/"))
	default:
		writeError(w, errorf(errNoRoute, "no route for %s %s: the emulator serves POST /runtimes/{arn}/invocations, POST /runtimes/{arn}/stopruntimesession and GET /sessions", r.Method, path))
	}
}

// route runs h for method and answers 405 otherwise; HEAD goes with GET.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request, method string, h http.HandlerFunc) {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		h(w, r)
		return
	}
	w.Header().Set("Allow", method)
	writeError(w, errorf(errMethod, "%s %s: only %s", r.Method, r.URL.EscapedPath(), method))
}

// serveRuntime routes {arn}/invocations and {arn}/stopruntimesession. The
// ARN is URL-encoded in one path segment ("arn%3Aaws%3A...%2Fname").
func (e *Emulator) serveRuntime(w http.ResponseWriter, r *http.Request, rest string) {
	escaped, op, ok := strings.Cut(rest, "/")
	arn, err := url.PathUnescape(escaped)
	if !ok || err != nil || arn == "" || (op != "invocations" && op != "stopruntimesession") {
		writeError(w, errorf(errNoRoute, "no route for %s %s: want /runtimes/{url-encoded arn}/invocations or /stopruntimesession", r.Method, r.URL.EscapedPath()))
		return
	}
	if op == "invocations" {
		e.route(w, r, http.MethodPost, func(w http.ResponseWriter, r *http.Request) { e.invoke(w, r, arn) })
		return
	}
	e.route(w, r, http.MethodPost, e.stopSession)
}

// invoke is InvokeAgentRuntime: the session's agent gets the body on its
// /invocations and the answer streams back as it comes.
func (e *Emulator) invoke(w http.ResponseWriter, r *http.Request, arn string) {
	start := time.Now()
	id := r.Header.Get(sessionIDHeader)
	if id == "" {
		id = uuid.NewString() // as the platform: generated, and returned in the header
	}
	if err := checkSessionID(id); err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set(sessionIDHeader, id)
	requestID := uuid.NewString()
	w.Header().Set("X-Amzn-RequestId", requestID)
	s, err := e.acquire(r.Context(), id, start)
	if err != nil {
		e.log.Warn().Str("session_id", id).Str("request_id", requestID).Err(err).Msg("invocation refused")
		writeError(w, err)
		return
	}
	defer s.release()
	res := s.forward(w, r, requestID)
	if res.err != nil && res.status == 0 {
		writeError(w, res.err)
	}
	ev := s.log.Info()
	if res.err != nil {
		ev = s.log.Warn().Err(res.err)
	}
	ev.Str("request_id", requestID).Str("arn", arn).Str("qualifier", r.URL.Query().Get("qualifier")).
		Int("status", res.status).Int64("bytes", res.bytes).Dur("duration", time.Since(start)).Msg("invocation")
}

// stopSession is StopRuntimeSession.
func (e *Emulator) stopSession(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(sessionIDHeader)
	if err := checkSessionID(id); err != nil {
		writeError(w, err)
		return
	}
	if err := e.Stop(id); err != nil {
		writeError(w, errorf(ErrNoSession, "session %s is not live", id))
		return
	}
	e.log.Info().Str("session_id", id).Msg("stop requested")
	w.Header().Set(sessionIDHeader, id)
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprint(w, "{}")
}

func (e *Emulator) serveSessions(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(e.Sessions())
}

func servePing(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprint(w, `{"status":"Healthy"}`)
}
