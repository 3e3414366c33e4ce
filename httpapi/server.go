package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentvisor/agentvisor/supervisor"
)

// DefaultMaxBodyBytes is the platform's payload limit, 100 MB.
const DefaultMaxBodyBytes = 100 << 20

// readHeaderTimeout bounds a client that sends its headers slowly; bodies and
// answers have no bound, since the platform allows 15-minute invocations.
const readHeaderTimeout = 10 * time.Second

// Config configures a Server.
type Config struct {
	// Supervisor answers /ping and the debug actions. Required.
	Supervisor *supervisor.Supervisor
	// Logger receives the request logs, under component=httpapi. The zero
	// value logs nothing.
	Logger zerolog.Logger
	// Entrypoint handles POST /invocations. Without one, invocations
	// answer 500 {"error":"No entrypoint defined"}.
	Entrypoint Entrypoint
	// WebSocket handles GET /ws. Without one, upgrades are refused with 404.
	WebSocket WebSocketHandler
	// WebSocketOrigins are the host patterns (path.Match syntax) of the
	// cross-origin pages allowed to open /ws; same-origin pages and clients
	// that send no Origin header (the platform, SDKs) are always allowed.
	WebSocketOrigins []string
	// Debug turns on debug mode: the "_agent_core_app_action" actions of the
	// contract and the actor-tree endpoints under /debug/ (a JSON tree, a
	// task list, a cancel command and a live web page). Off by default: New
	// logs a warning when it is on, since anyone who reaches the port can
	// then see and cancel every task.
	Debug bool
	// MaxBodyBytes limits request bodies; larger ones are answered 413.
	// Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// WebSocketMaxMessageBytes limits the size of a message a /ws client
	// sends; a larger one closes the session with 1009 (message too big),
	// the reason naming the limit. Default DefaultWebSocketMaxMessageBytes.
	WebSocketMaxMessageBytes int64
	// WebSocketMessageTimeout is how long a /ws message may take to arrive
	// once its first byte has; a client that stalls mid-message is cut with
	// 1008 (policy violation). A session idle between messages is never
	// cut. Default DefaultWebSocketMessageTimeout.
	WebSocketMessageTimeout time.Duration
	// IdleTimeout is how long Serve keeps a keep-alive connection open
	// between two requests; it never cuts a request or a stream, however
	// long, nor a WebSocket session. Default DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Addr is where Run listens; an IPv4 host (0.0.0.0, the platform's) is
	// listened on over IPv4 alone. Default "0.0.0.0:" and the PORT
	// environment variable, or 8080.
	Addr string
	// DrainTimeout is how long Run's stop waits for the tasks before it
	// cancels them. Default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// BusyAfter is how long an invocation (streamed or not) or a WebSocket
	// session may stay open before it counts as busy, until it ends: the
	// platform ends a session whose /ping says Healthy for its idle timeout
	// even while a request is in flight. A request that ends sooner changes
	// nothing. Default DefaultBusyAfter; negative turns it off.
	BusyAfter time.Duration
	// TracerProvider makes the server spans of /invocations and /ws, one
	// per request or WebSocket session (it lasts the session), continuing
	// the trace of the request's traceparent header; /ping and /debug/ are
	// never traced. Run flushes it once the HTTP server has stopped, if it
	// has a ForceFlush method (the SDK's has), in what is left of the
	// stop's five seconds. Default otel.GetTracerProvider() as New finds
	// it: the global provider, or a no-op that forwards to the one the
	// program sets later.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the metrics of /invocations and /ws, otelhttp's
	// http.server.request.duration and body sizes (the panics recovered
	// from the handlers are the supervisor's agentvisor.panics). Run
	// flushes it as it does TracerProvider. Default otel.GetMeterProvider() as New finds it.
	// While neither provider records anything (no-ops, or the global ones
	// before the program sets them), requests skip the instrumentation
	// altogether: their context then carries neither the caller's trace
	// context nor baggage.
	MeterProvider metric.MeterProvider
	// Propagator reads the trace context and the baggage of /invocations
	// and /ws requests. Default W3C trace context and baggage, the
	// traceparent and baggage headers the platform forwards; not the global
	// propagator, which drops both unless the program sets one.
	Propagator propagation.TextMapPropagator
	// SessionIdleTimeout is the idle timeout the agent assumes the platform
	// ends its session after (the runtime's lifecycleConfiguration
	// idleRuntimeSessionTimeout, which the agent cannot read). It only
	// informs the debug views, which say when the platform ends an idle
	// session: it changes nothing the agent does. Default
	// DefaultSessionIdleTimeout.
	SessionIdleTimeout time.Duration
}

// DefaultSessionIdleTimeout is Config.SessionIdleTimeout's default: the
// platform's default idle timeout, 900 s.
const DefaultSessionIdleTimeout = 15 * time.Minute

// DefaultBusyAfter is Config.BusyAfter's default: far below the platform's
// shortest idle timeout (60 s), far above an ordinary request.
const DefaultBusyAfter = 10 * time.Second

// DefaultWebSocketMaxMessageBytes is Config.WebSocketMaxMessageBytes's
// default, 16 MiB: the reference's server (uvicorn with the websockets
// library) accepts messages up to that size.
const DefaultWebSocketMaxMessageBytes = 16 << 20

// DefaultWebSocketMessageTimeout is Config.WebSocketMessageTimeout's default:
// time for a 16 MiB message at about 2.5 Mbit/s.
const DefaultWebSocketMessageTimeout = 60 * time.Second

// DefaultIdleTimeout is Config.IdleTimeout's default: longer than the
// 60-second idle timeout of the usual load balancers, so that the server is
// not the side that closes a connection a proxy is about to reuse.
const DefaultIdleTimeout = 120 * time.Second

func (c Config) withDefaults() (Config, error) {
	if c.Supervisor == nil {
		return c, fmt.Errorf("nil Supervisor: %w", ErrInvalidConfig)
	}
	var err error
	if c.MaxBodyBytes, err = orDefault("MaxBodyBytes", c.MaxBodyBytes, DefaultMaxBodyBytes); err != nil {
		return c, err
	}
	if c.IdleTimeout, err = orDefault("IdleTimeout", c.IdleTimeout, DefaultIdleTimeout); err != nil {
		return c, err
	}
	if c.WebSocketMessageTimeout, err = orDefault("WebSocketMessageTimeout", c.WebSocketMessageTimeout, DefaultWebSocketMessageTimeout); err != nil {
		return c, err
	}
	if c.DrainTimeout, err = orDefault("DrainTimeout", c.DrainTimeout, DefaultDrainTimeout); err != nil {
		return c, err
	}
	if c.SessionIdleTimeout, err = orDefault("SessionIdleTimeout", c.SessionIdleTimeout, DefaultSessionIdleTimeout); err != nil {
		return c, err
	}
	if c.BusyAfter == 0 {
		c.BusyAfter = DefaultBusyAfter
	}
	if c.TracerProvider == nil {
		c.TracerProvider = otel.GetTracerProvider()
	}
	if c.MeterProvider == nil {
		c.MeterProvider = otel.GetMeterProvider()
	}
	if c.Propagator == nil {
		c.Propagator = defaultPropagator
	}
	if c.Addr == "" {
		c.Addr = "0.0.0.0:" + cmp.Or(os.Getenv("PORT"), "8080")
	}
	c.WebSocketMaxMessageBytes, err = orDefault("WebSocketMaxMessageBytes", c.WebSocketMaxMessageBytes, DefaultWebSocketMaxMessageBytes)
	return c, err
}

// orDefault returns v, or def for zero; a negative v is invalid.
func orDefault[T int64 | time.Duration](name string, v, def T) (T, error) {
	switch {
	case v < 0:
		return v, fmt.Errorf("%s %v: %w", name, v, ErrInvalidConfig)
	case v == 0:
		return def, nil
	}
	return v, nil
}

// Server serves the agent contract over HTTP: /ping, /invocations and /ws.
// It is an http.Handler; Serve and Shutdown run it on a listener of its own.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	sup     *supervisor.Supervisor
	handler http.Handler
	http    *http.Server

	tracesOff  func() bool // whether the TracerProvider records nothing now
	metricsOff func() bool // whether the MeterProvider records nothing now

	draining atomic.Bool
	lastPing atomic.Pointer[pingBody] // the last /ping body, reused while the status holds
	sessions sessions                 // the open WebSocket sessions
	// lastArrival is when the last /invocations or /ws request arrived, in
	// Unix nanoseconds (0 before the first): the platform's idle clock
	// restarts at each invocation. Written by noteArrival, read by the debug
	// views.
	lastArrival atomic.Int64

	shutdownOnce sync.Once
	shutdownErr  error
}

// New builds a Server from cfg; it serves nothing until Serve, or until it
// is mounted as an http.Handler.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	s := &Server{
		cfg: cfg,
		log: cfg.Logger.With().Str("component", "httpapi").Logger(),
		sup: cfg.Supervisor,
	}
	s.sessions.init()
	s.warnDebug()
	s.tracesOff = recordsNothing(cfg.TracerProvider, otel.GetTracerProvider)
	s.metricsOff = recordsNothing(cfg.MeterProvider, otel.GetMeterProvider)
	s.handler = s.middleware(routes{s.router()})
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout, // between requests only: no ReadTimeout or WriteTimeout, which would cut long ones
		// OPTIONS * goes to the router (a JSON 404), not net/http's empty 200.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     stdlog.New(s.log.With().Str("source", "net/http").Logger(), "", 0),
	}
	return s, nil
}

// router maps the contract's routes. Paths are matched as sent (no cleaning
// or redirects): anything else is a 404, as with the reference.
func (s *Server) router() *mux.Router {
	r := mux.NewRouter().SkipClean(true)
	allow := map[string]string{}
	route := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle(path, h).Methods(methods...)
		allow[path] = strings.Join(methods, ", ")
	}
	route("/ping", s.servePing, http.MethodGet, http.MethodHead)
	route("/invocations", s.traced("POST /invocations", s.noteArrival(s.busyWhileOpen(s.serveInvocation))), http.MethodPost)
	route("/ws", s.traced("GET /ws", s.noteArrival(s.busyWhileOpen(s.serveWebSocket))), http.MethodGet)
	if s.cfg.Debug {
		s.debugEndpoints(r)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, ErrNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow[r.URL.Path])
		writeError(w, r, ErrMethodNotAllowed)
	})
	return r
}

// routes serves a request with the handler its route maps to. It asks mux
// only to match: mux.Router.ServeHTTP makes two copies of the request to put
// the route and its variables in the context, which only a route with
// variables needs (for mux.Vars), and those still go through it. The router
// has NotFound and MethodNotAllowed handlers, so every request matches.
type routes struct{ *mux.Router }

func (rt routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m mux.RouteMatch
	if rt.Match(r, &m) && len(m.Vars) == 0 {
		m.Handler.ServeHTTP(w, r)
		return
	}
	rt.Router.ServeHTTP(w, r)
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.isQuietPing(r) {
		// The platform polls /ping every two seconds; when its log line would
		// be dropped anyway, skip the middleware's allocations (request id,
		// logger copy, writer wrappers). Nothing in servePing can panic.
		s.servePing(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

func (s *Server) isQuietPing(r *http.Request) bool {
	return r.URL.Path == "/ping" && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		s.log.GetLevel() > zerolog.DebugLevel
}

// Serve accepts connections on ln until Shutdown; it returns nil after
// Shutdown, else the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info().Str("addr", ln.Addr().String()).Bool("debug", s.cfg.Debug).Msg("listening")
	if err := s.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// Drain makes the server refuse new invocations and WebSocket sessions with
// 503, while /ping keeps answering truthfully: the first step of a graceful
// stop, while the supervisor finishes its tasks. It cannot be undone.
func (s *Server) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info().Msg("draining: new invocations are refused")
	}
}

// Shutdown drains, stops accepting connections, and waits for in-flight
// requests until ctx is done; then it closes the connections left, which
// cancels their requests' contexts. Every open WebSocket session is closed
// with 1001 (going away), even when ctx is already done, and then its
// handler's context is cancelled; Shutdown waits for the handlers until ctx
// is done but at least 15 s, and reports those still running then (they
// ignore their context). Calling it again returns the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.Drain()
		s.sessions.close()
		err := s.http.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, s.http.Close())
		}
		if waitErr := s.sessions.wait(ctx); waitErr != nil {
			s.log.Error().Err(waitErr).Msg("WebSocket handlers still running after shutdown")
			err = errors.Join(err, waitErr)
		}
		if err != nil {
			s.shutdownErr = fmt.Errorf("shutdown http server: %w", err)
		}
	})
	return s.shutdownErr
}
