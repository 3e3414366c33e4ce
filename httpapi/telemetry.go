package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/agentvisor/agentvisor/internal/errtext"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// instrumentationName is the scope of the server's own instruments;
// otelhttp's have their own.
const instrumentationName = "github.com/agentvisor/agentvisor/httpapi"

// The names the server reports under, besides the HTTP semantic
// conventions otelhttp follows. Panics are counted by the supervisor
// (RecordPanic), in its agentvisor.panics metric.
const (
	requestIDAttr     = attribute.Key("agentvisor.request.id")
	sessionBaggageKey = string(semconv.SessionIDKey)
)

// defaultPropagator reads the headers the platform forwards. The global
// propagator is not the default: unless a program sets it, it drops both.
var defaultPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// traced serves pattern's requests ("POST /invocations") in a server span
// of that name, continuing the trace the request's headers carry, and
// counts them in otelhttp's http.server metrics. While neither provider
// records anything it skips all of that, whose cost (some thirty
// allocations a request for otelhttp, ten more for the trace context and
// baggage) would buy nothing: no span to link to, nothing recorded.
func (s *Server) traced(pattern string, next http.HandlerFunc) http.HandlerFunc {
	_, route, _ := strings.Cut(pattern, " ")
	instrumented := otelhttp.NewHandler(annotate(pattern, next), pattern,
		otelhttp.WithTracerProvider(s.cfg.TracerProvider),
		otelhttp.WithMeterProvider(s.cfg.MeterProvider),
		otelhttp.WithPropagators(s.cfg.Propagator),
		otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return pattern }),
		otelhttp.WithSpanOptions(trace.WithAttributes(semconv.HTTPRoute(route))), // at the start, for samplers
	)
	return func(w http.ResponseWriter, r *http.Request) {
		if s.tracesOff() && s.metricsOff() {
			next(w, r)
			return
		}
		instrumented.ServeHTTP(w, r)
	}
}

// maxTelemetryID bounds a session or request id put on a span or in
// baggage: the platform's are at most 256 characters, and a client's header
// may be a megabyte.
const maxTelemetryID = 256

// annotate puts the request's ids on its span, and the session id in the
// baggage of the handler's context, for whatever the handler starts or
// calls. It also sets r.Pattern, as http.ServeMux does, on otelhttp's copy
// of the request: otelhttp takes its metrics' http.route from there.
func annotate(pattern string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Pattern = pattern
		ids := idsFrom(r.Context())
		session := telemetryText(ids.session, maxTelemetryID)
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetAttributes(requestIDAttr.String(telemetryText(ids.request, maxTelemetryID)))
			if session != "" {
				span.SetAttributes(semconv.SessionID(session))
			}
			validateHeaderAttributes(span, r)
		}
		if session != "" {
			r = r.WithContext(withSessionBaggage(r.Context(), session))
		}
		next(w, r)
	}
}

// telemetryText is s cut to at most max bytes and made UTF-8: OTLP's
// protobuf encoding refuses a whole batch of spans for one string that is
// not, and net/http lets a header carry any byte.
func telemetryText(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	return errtext.UTF8(s)
}

// validateHeaderAttributes replaces the attributes otelhttp copied from the
// request's headers (User-Agent, X-Forwarded-For) when they are not UTF-8.
func validateHeaderAttributes(span trace.Span, r *http.Request) {
	if ua := r.UserAgent(); !utf8.ValidString(ua) {
		span.SetAttributes(semconv.UserAgentOriginal(errtext.UTF8(ua)))
	}
	if xff := r.Header.Get("X-Forwarded-For"); !utf8.ValidString(xff) {
		client, _, _ := strings.Cut(xff, ",")
		span.SetAttributes(semconv.ClientAddress(errtext.UTF8(strings.TrimSpace(client))))
	}
}

// withSessionBaggage adds session.id to ctx's baggage, next to the members
// the request brought.
func withSessionBaggage(ctx context.Context, session string) context.Context {
	m, err := baggage.NewMemberRaw(sessionBaggageKey, session)
	if err != nil {
		return ctx
	}
	bag, _ := baggage.FromContext(ctx).SetMember(m) // it fails only for a member NewMemberRaw refuses
	return baggage.ContextWithBaggage(ctx, bag)
}

// globalPackage is where the global providers' defaults live: no-ops
// until the program sets a global provider, and from then on forwarders to
// it. Their type is unexported, so it is known by its package; should it
// move, recordsNothing says false, which costs time and is still right.
const globalPackage = "go.opentelemetry.io/otel/internal/global"

// recordsNothing returns a test of whether p records nothing at the time
// of asking: always for a no-op provider, for the global default until the
// program sets a global provider (global, otel.GetTracerProvider or
// GetMeterProvider, then returns another), never for any other.
func recordsNothing[P comparable](p P, global func() P) func() bool {
	switch any(p).(type) {
	case tracenoop.TracerProvider, metricnoop.MeterProvider:
		return func() bool { return true }
	}
	if t := reflect.TypeOf(p); t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == globalPackage {
		return func() bool { return global() == p }
	}
	return func() bool { return false }
}

// notePanic records a panic recovered from a handler on the request's
// span: the answer's status may not tell (a stream has sent 200, a
// WebSocket session 101).
func notePanic(ctx context.Context, panicked *PanicError) {
	span := trace.SpanFromContext(ctx)
	err := errtext.UTF8Error(panicked)
	span.RecordError(err, trace.WithStackTrace(true))
	span.SetStatus(codes.Error, err.Error())
}

// flusher is what the SDK's providers have and the API's lack.
type flusher interface{ ForceFlush(context.Context) error }

// flushTelemetry sends what the providers hold before the process ends. A
// provider that cannot is logged: telemetry never fails the agent.
func (s *Server) flushTelemetry(ctx context.Context) {
	for _, p := range []any{s.cfg.TracerProvider, s.cfg.MeterProvider} {
		if f, ok := p.(flusher); ok {
			if err := f.ForceFlush(ctx); err != nil {
				s.log.Warn().Err(err).Msg("telemetry: flush failed")
			}
		}
	}
}
