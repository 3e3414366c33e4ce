package httpapi_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// A traceparent the platform could forward: trace and parent span ids.
const (
	traceparent  = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	parentTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpanID = "00f067aa0ba902b7"
)

// telemetry is an SDK tracer and meter provider that keep, in memory,
// every span and what a collection reads.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(tb testing.TB) *telemetry {
	tb.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tb.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// config is cfg reporting to tel.
func (tel *telemetry) config(cfg httpapi.Config) httpapi.Config {
	cfg.TracerProvider, cfg.MeterProvider = tel.tp, tel.mp
	return cfg
}

// metric collects and returns the metric named name, failing the test if
// there is none.
func (tel *telemetry) metric(tb testing.TB, name string) metricdata.Metrics {
	tb.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		tb.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m
			}
		}
	}
	tb.Fatalf("no metric %s in %+v", name, rm.ScopeMetrics)
	return metricdata.Metrics{}
}

// onlySpan returns the one span ended, failing the test if there are others.
func (tel *telemetry) onlySpan(tb testing.TB) sdktrace.ReadOnlySpan {
	tb.Helper()
	spans := tel.spans.Ended()
	if len(spans) != 1 {
		tb.Fatalf("%d spans ended, want 1: %v", len(spans), spanNames(spans))
	}
	return spans[0]
}

func spanNames(spans []sdktrace.ReadOnlySpan) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	return names
}

// attrs maps a span's or a data point's attributes to their values.
func attrs(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// invoke serves POST /invocations with body and header in process: the
// span has ended when it returns.
func invoke(srv *httpapi.Server, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(body))
	for name, v := range header {
		req.Header.Set(name, v)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// seen is what an entrypoint or WebSocket handler found in its context.
type seen struct {
	span      trace.SpanContext
	baggage   baggage.Baggage
	requestID string
}

func see(ctx context.Context, req *httpapi.Request) seen {
	return seen{span: trace.SpanContextFromContext(ctx), baggage: baggage.FromContext(ctx), requestID: req.RequestID}
}

// seeing is an entrypoint that answers "ok" and keeps in *got what it saw.
func seeing(got *seen) httpapi.Entrypoint {
	return func(ctx context.Context, req *httpapi.Request) (any, error) {
		*got = see(ctx, req)
		return "ok", nil
	}
}

// An invocation is one server span, a child of the caller's traceparent,
// named and attributed by the HTTP conventions and the platform's ids; the
// entrypoint's context carries it, and the session id in its baggage next
// to the caller's members.
func TestInvocationSpan(t *testing.T) {
	tests := []struct {
		name      string
		requestID string // the platform's request id header, "" for none: the server makes one
	}{
		{"platform request id", "request-1"},
		{"server-made request id", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			var got seen
			srv := mustNew(t, tel.config(httpapi.Config{Entrypoint: seeing(&got)}))
			header := map[string]string{"traceparent": traceparent, "baggage": "user=alice", httpapi.HeaderSessionID: "session-1"}
			if tt.requestID != "" {
				header[httpapi.HeaderRequestID] = tt.requestID
			}
			if rec := invoke(srv, `{}`, header); rec.Code != http.StatusOK || rec.Body.String() != `"ok"` {
				t.Fatalf("answer %d %s", rec.Code, rec.Body)
			}
			span := tel.onlySpan(t)
			if span.Name() != "POST /invocations" || span.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q of kind %v, want POST /invocations, server", span.Name(), span.SpanKind())
			}
			if p := span.Parent(); p.TraceID().String() != parentTrace || p.SpanID().String() != parentSpanID || !p.IsRemote() {
				t.Errorf("parent %s/%s (remote %v), want the traceparent's", p.TraceID(), p.SpanID(), p.IsRemote())
			}
			if got.requestID == "" || tt.requestID != "" && got.requestID != tt.requestID {
				t.Fatalf("entrypoint's request id %q, want %q or a made one", got.requestID, tt.requestID)
			}
			a := attrs(span.Attributes())
			want := map[string]any{"session.id": "session-1", "agentvisor.request.id": got.requestID,
				"http.response.status_code": int64(200), "http.route": "/invocations", "http.request.method": "POST"}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("attribute %s = %v, want %v", k, a[k], v)
				}
			}
			if !got.span.Equal(span.SpanContext()) {
				t.Errorf("entrypoint's span %v, want the invocation's %v", got.span, span.SpanContext())
			}
			if s, u := got.baggage.Member("session.id").Value(), got.baggage.Member("user").Value(); s != "session-1" || u != "alice" {
				t.Errorf("entrypoint's baggage %q, want session.id=session-1 and user=alice", got.baggage)
			}
		})
	}
}

// Without telemetry (the global providers, which no test sets) a request
// skips the instrumentation: the entrypoint's context gets no trace
// context and no baggage.
func TestNoTelemetry(t *testing.T) {
	var got seen
	srv, err := httpapi.New(httpapi.Config{Supervisor: mustSupervisor(t), Entrypoint: seeing(&got)})
	if err != nil {
		t.Fatal(err)
	}
	rec := invoke(srv, `{}`, map[string]string{"traceparent": traceparent, "baggage": "user=alice", httpapi.HeaderSessionID: "session-1"})
	if rec.Code != http.StatusOK || got.span.IsValid() || got.baggage.Len() != 0 {
		t.Errorf("answer %d, entrypoint's span context %v and baggage %q: want 200, neither", rec.Code, got.span, got.baggage)
	}
}

// /ping, the debug endpoints and requests no route serves make no span and
// no metric point, /ping whether or not it is logged.
func TestNotTraced(t *testing.T) {
	for _, level := range []zerolog.Level{zerolog.InfoLevel, zerolog.DebugLevel} { // at info level /ping takes its fast path
		t.Run(level.String(), func(t *testing.T) {
			var logs logBuffer
			tel := newTelemetry(t)
			srv := mustNew(t, tel.config(httpapi.Config{Debug: true, Logger: logs.logger(level)}))
			for _, r := range []struct {
				method, path string
				status       int
			}{
				{"GET", "/ping", 200}, {"HEAD", "/ping", 200}, {"GET", "/debug/", 200}, {"GET", "/debug/actors", 200},
				{"GET", "/debug/tasks", 200}, {"GET", "/debug/tasks/1", 404}, {"GET", "/nowhere", 404}, {"GET", "/invocations", 405},
			} {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, httptest.NewRequest(r.method, r.path, nil))
				if rec.Code != r.status {
					t.Errorf("%s %s: %d, want %d", r.method, r.path, rec.Code, r.status)
				}
			}
			if started := tel.spans.Started(); len(started) != 0 {
				t.Errorf("spans started: %v", started)
			}
			var rm metricdata.ResourceMetrics
			if err := tel.reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			for _, sm := range rm.ScopeMetrics {
				if len(sm.Metrics) != 0 {
					t.Errorf("metrics recorded: %+v", sm.Metrics)
				}
			}
		})
	}
}

// A /ws session is one "GET /ws" span, which lasts as long as the session:
// it ends once the handler returns, and the handler's context carries it.
func TestWebSocketSpan(t *testing.T) {
	tel := newTelemetry(t)
	seenc := make(chan seen, 1)
	returned := make(chan time.Time, 1)
	_, base := mustServe(t, tel.config(httpapi.Config{WebSocket: func(ctx context.Context, conn *websocket.Conn, req *httpapi.Request) error {
		defer func() { returned <- time.Now() }()
		seenc <- see(ctx, req)
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if err := conn.Write(ctx, typ, msg); err != nil {
			return err
		}
		_, _, err = conn.Read(ctx) // until the client closes
		return err
	}}))
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Timeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Traceparent": {traceparent}, httpapi.HeaderSessionID: {"session-1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err != nil {
		t.Fatal(err)
	}
	got := <-seenc
	if ended := tel.spans.Ended(); len(ended) != 0 {
		t.Fatalf("spans ended while the session is open: %v", spanNames(ended))
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	handlerEnd := <-returned
	testkit.Eventually(t, "the session's span to end", func() bool { return len(tel.spans.Ended()) > 0 })
	span := tel.onlySpan(t)
	if span.Name() != "GET /ws" || span.EndTime().Before(handlerEnd) {
		t.Errorf("span %q ended at %v, want GET /ws ending after the handler, at %v", span.Name(), span.EndTime(), handlerEnd)
	}
	if span.Parent().TraceID().String() != parentTrace || !got.span.Equal(span.SpanContext()) {
		t.Errorf("span %v (parent %v), handler's %v: want the handler's span, child of the traceparent", span.SpanContext(), span.Parent(), got.span)
	}
	a := attrs(span.Attributes())
	if a["http.response.status_code"] != int64(101) || a["session.id"] != "session-1" || a["http.route"] != "/ws" {
		t.Errorf("attributes %v, want status 101, session.id, http.route /ws", a)
	}
	if got.baggage.Member("session.id").Value() != "session-1" {
		t.Errorf("handler's baggage %q, want session.id", got.baggage)
	}
}

// A panic in an entrypoint, a stream or a WebSocket handler is recorded on
// the span, which is an error whatever the status the client got, and
// counted in the supervisor's agentvisor.panics by origin.
func TestPanicOnSpan(t *testing.T) {
	tests := []struct {
		name, origin string
		cfg          httpapi.Config
	}{
		{"entrypoint", "handler", httpapi.Config{Entrypoint: func(context.Context, *httpapi.Request) (any, error) { panic("boom") }}},
		{"stream", "stream", httpapi.Config{Entrypoint: func(context.Context, *httpapi.Request) (any, error) {
			return httpapi.Stream(func(yield func(any, error) bool) {
				yield("first", nil)
				panic("boom")
			}), nil
		}}},
		{"websocket", "websocket", httpapi.Config{WebSocket: func(context.Context, *websocket.Conn, *httpapi.Request) error { panic("boom") }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			cfg := tel.config(tt.cfg)
			cfg.Supervisor = mustSupervisorWith(t, supervisor.Config{MeterProvider: tel.mp})
			_, base := mustServe(t, cfg)
			if tt.cfg.WebSocket != nil {
				conn, ctx := mustDialWebSocket(t, base)
				if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusInternalError {
					t.Fatalf("client read %v, want close 1011", err)
				}
			} else {
				post(t, base, `{}`)
			}
			testkit.Eventually(t, "the span to end", func() bool { return len(tel.spans.Ended()) > 0 })
			span := tel.onlySpan(t)
			if span.Status().Code != codes.Error {
				t.Errorf("span status %v, want Error", span.Status())
			}
			if !hasPanicEvent(span) {
				t.Errorf("events %+v, want an exception for the PanicError", span.Events())
			}
			m := tel.metric(t, "agentvisor.panics")
			sum, ok := m.Data.(metricdata.Sum[int64])
			if m.Unit != "{panic}" || !ok || !sum.IsMonotonic || len(sum.DataPoints) != 1 {
				t.Fatalf("agentvisor.panics %+v, want one point of a counter in {panic}", m)
			}
			p := sum.DataPoints[0]
			if p.Value != 1 || attrs(p.Attributes.ToSlice())["agentvisor.panic.origin"] != tt.origin || p.Attributes.Len() != 1 {
				t.Errorf("point %v %v, want 1 with agentvisor.panic.origin=%s alone", p.Value, p.Attributes.ToSlice(), tt.origin)
			}
		})
	}
}

func hasPanicEvent(span sdktrace.ReadOnlySpan) bool {
	for _, e := range span.Events() {
		a := attrs(e.Attributes)
		stack, _ := a["exception.stacktrace"].(string)
		if e.Name == "exception" && a["exception.type"] == "*httpapi.PanicError" && a["exception.message"] == "boom" && stack != "" {
			return true
		}
	}
	return false
}

// http.server.request.duration has one point per status, in seconds, with
// the route and the method, and otelhttp's other attributes, which are all
// of bounded cardinality.
func TestDurationMetric(t *testing.T) {
	tel := newTelemetry(t)
	srv := mustNew(t, tel.config(httpapi.Config{Entrypoint: func(_ context.Context, req *httpapi.Request) (any, error) {
		if string(req.Payload) == `"fail"` {
			return nil, errors.New("failed")
		}
		return "ok", nil
	}}))
	for _, body := range []string{`{}`, `{}`, `not json`, `"fail"`} {
		invoke(srv, body, nil)
	}
	m := tel.metric(t, "http.server.request.duration")
	h, ok := m.Data.(metricdata.Histogram[float64])
	if m.Unit != "s" || !ok {
		t.Fatalf("http.server.request.duration %+v, want a histogram in s", m)
	}
	wantKeys := []string{"http.request.method", "http.response.status_code", "http.route",
		"network.protocol.name", "network.protocol.version", "server.address", "url.scheme"}
	counts := map[int64]uint64{}
	for _, p := range h.DataPoints {
		a := attrs(p.Attributes.ToSlice())
		if a["http.route"] != "/invocations" || a["http.request.method"] != "POST" || !slices.Equal(slices.Sorted(maps.Keys(a)), wantKeys) {
			t.Errorf("point attributes %v, want %v with http.route /invocations and method POST", a, wantKeys)
		}
		status, _ := a["http.response.status_code"].(int64)
		counts[status] += p.Count
	}
	if want := map[int64]uint64{200: 2, 400: 1, 500: 1}; !maps.Equal(counts, want) {
		t.Errorf("requests by status %v, want %v", counts, want)
	}
}

// Hostile trace headers start a new trace, and never change the answer;
// header text that is not UTF-8 or is huge reaches the span and the
// baggage made UTF-8 and cut to 256 bytes: OTLP's protobuf encoding would
// refuse the whole batch of spans for one invalid string.
func TestHostileTraceHeaders(t *testing.T) {
	many := make([]string, 200)
	for i := range many {
		many[i] = "k" + strings.Repeat("x", i%7) + "=v"
	}
	const session = "session-1"
	tests := []struct {
		name        string
		header      map[string]string
		wantSession string // session.id on the span and in the entrypoint's baggage
	}{
		{"traceparent garbage", map[string]string{"traceparent": "garbage"}, session},
		{"traceparent zero trace id", map[string]string{"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, session},
		{"traceparent unknown version", map[string]string{"traceparent": "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}, session},
		{"traceparent huge", map[string]string{"traceparent": "00-" + strings.Repeat("4bf92f35", 8<<10) + "-00f067aa0ba902b7-01"}, session},
		{"baggage garbage", map[string]string{"baggage": "%%%;;==,,=,;"}, session},
		{"baggage bad escape", map[string]string{"baggage": "k=%zz"}, session},
		{"baggage huge", map[string]string{"baggage": strings.Repeat("key=value,", 100<<10)}, session},
		{"baggage many members", map[string]string{"baggage": strings.Join(many, ",")}, session},
		{"session id not UTF-8", map[string]string{httpapi.HeaderSessionID: "a\xff\xfeb", "baggage": "user=alice"}, "a\uFFFDb"},
		{"session id huge", map[string]string{httpapi.HeaderSessionID: strings.Repeat("s", 1<<20)}, strings.Repeat("s", 256)},
		{"user agent not UTF-8", map[string]string{"User-Agent": "bot\xff", "X-Forwarded-For": "1.2.3.4\xfe, 5.6.7.8"}, session},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tel := newTelemetry(t)
			var got seen
			srv := mustNew(t, tel.config(httpapi.Config{Entrypoint: seeing(&got)}))
			if _, ok := tt.header[httpapi.HeaderSessionID]; !ok {
				tt.header[httpapi.HeaderSessionID] = session
			}
			if rec := invoke(srv, `{}`, tt.header); rec.Code != http.StatusOK || rec.Body.String() != `"ok"` {
				t.Fatalf("answer %d %s, want 200 \"ok\"", rec.Code, rec.Body)
			}
			span := tel.onlySpan(t)
			if span.Parent().IsValid() || !got.span.Equal(span.SpanContext()) {
				t.Errorf("span %v with parent %v, entrypoint's %v: want a new root, the entrypoint's", span.SpanContext(), span.Parent(), got.span)
			}
			if got := attrs(span.Attributes())["session.id"]; got != tt.wantSession {
				t.Errorf("span session.id %.40q, want %.40q", got, tt.wantSession)
			}
			for _, kv := range span.Attributes() {
				if !utf8.ValidString(kv.Value.Emit()) {
					t.Errorf("span attribute %s = %q is not UTF-8", kv.Key, kv.Value.Emit())
				}
			}
			if m := got.baggage.Member("session.id"); m.Value() != tt.wantSession {
				t.Errorf("entrypoint's baggage session.id %.40q, want %.40q", m.Value(), tt.wantSession)
			}
		})
	}
}

// flushCounter counts a provider's ForceFlush calls; with block, each waits
// for its context to end.
type flushCounter struct {
	block bool
	n     atomic.Int32
}

func (f *flushCounter) ForceFlush(ctx context.Context) error {
	f.n.Add(1)
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

type flushingTracers struct {
	tracenoop.TracerProvider
	*flushCounter
}

type flushingMeters struct {
	metricnoop.MeterProvider
	*flushCounter
}

// Run flushes the tracer and the meter provider once it has stopped.
func TestRunFlushesTelemetry(t *testing.T) {
	traces, metrics := &flushCounter{}, &flushCounter{}
	srv := mustNew(t, httpapi.Config{Addr: "127.0.0.1:0",
		TracerProvider: flushingTracers{flushCounter: traces}, MeterProvider: flushingMeters{flushCounter: metrics}})
	if err := runResult(t, srv, expired()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if traces.n.Load() != 1 || metrics.n.Load() != 1 {
		t.Errorf("flushed traces %d times, metrics %d times, want once each", traces.n.Load(), metrics.n.Load())
	}
}

// A flush that takes all the time it is given ends with the stop's five
// seconds for the HTTP server: Run returns within the drain timeout and
// those, without an error, and logs the failed flush.
func TestRunBoundsTheFlush(t *testing.T) {
	// Run's signal.Notify starts the runtime's signal goroutines, once per
	// process: started in the bubble, they would belong to it.
	warm := make(chan os.Signal, 1)
	signal.Notify(warm, os.Interrupt)
	signal.Stop(warm)
	synctest.Test(t, func(t *testing.T) {
		t.Cleanup(func() { time.Sleep(2 * time.Second) }) // protoactor's dead-letter throttle, which must end in the bubble
		var logs logBuffer
		traces, metrics := &flushCounter{block: true}, &flushCounter{block: true}
		const drain = 2 * time.Second
		srv := mustNew(t, httpapi.Config{Addr: "127.0.0.1:0", DrainTimeout: drain, Logger: logs.logger(zerolog.InfoLevel),
			TracerProvider: flushingTracers{flushCounter: traces}, MeterProvider: flushingMeters{flushCounter: metrics}})
		start := time.Now()
		if err := srv.Run(expired()); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if took := time.Since(start); took < 5*time.Second || took > drain+5*time.Second {
			t.Errorf("Run took %v, want the flush to wait for the last of the stop's five seconds, and no more than %v", took, drain+5*time.Second)
		}
		if traces.n.Load() != 1 || metrics.n.Load() != 1 {
			t.Errorf("flushed traces %d times, metrics %d times, want once each", traces.n.Load(), metrics.n.Load())
		}
		if !strings.Contains(logs.String(), "telemetry: flush failed") {
			t.Errorf("no flush failure logged:\n%s", logs.String())
		}
	})
}
