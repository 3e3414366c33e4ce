package telemetry_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/logbuf"
	"github.com/agentvisor/agentvisor/internal/otlptest"
	"github.com/agentvisor/agentvisor/telemetry"
)

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m)
}

// env is a fake environment for Config.Getenv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// mustNew is New on e, shut down when the test ends.
func mustNew(t *testing.T, e env, prometheus bool) *telemetry.Telemetry {
	t.Helper()
	tel := telemetry.New(context.Background(), telemetry.Config{ServiceVersion: "v1.2.3", Getenv: e.get, Logger: zerolog.Nop(), Prometheus: prometheus})
	t.Cleanup(func() { stop(tel) })
	return tel
}

// stop shuts tel down, whatever the endpoints answer: a cancelled context
// would leave the SDK's goroutines running.
func stop(tel *telemetry.Telemetry) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tel.Shutdown(ctx)
}

// record records one span, "work", and adds 3 to the counter jobs.done.
func record(t *testing.T, tel *telemetry.Telemetry) {
	t.Helper()
	_, span := tel.TracerProvider().Tracer("test").Start(context.Background(), "work")
	span.End()
	counter, err := tel.MeterProvider().Meter("test").Int64Counter("jobs.done")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(context.Background(), 3)
}

func shutdown(t *testing.T, tel *telemetry.Telemetry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// OTEL_SDK_DISABLED wins over everything: no-op providers, nothing sent,
// no Prometheus handler, and the summary says why.
func TestSDKDisabled(t *testing.T) {
	r := otlptest.Start(t)
	tel := mustNew(t, env{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": r.URL, "OTEL_TRACES_EXPORTER": "otlp"}, true)
	assertNoOp(t, tel)
	if tel.MetricsHandler() != nil {
		t.Fatal("a Prometheus handler with the SDK disabled")
	}
	record(t, tel)
	shutdown(t, tel)
	if got := r.Received(); len(got.Requests) != 0 {
		t.Fatalf("the disabled SDK exported:\n%s", got)
	}
	want := telemetry.Summary{Traces: "off (OTEL_SDK_DISABLED=TRUE)", Metrics: "off (OTEL_SDK_DISABLED=TRUE)",
		Warnings: []string{"OTEL_SDK_DISABLED=TRUE: no Prometheus metrics either"}}
	assertSummary(t, tel.Summary(), want)
}

// With no OTEL_* variable each signal is a no-op provider: no SDK doing
// work on every request of an agent nobody observes.
func TestNothingSetIsNoOp(t *testing.T) {
	tel := mustNew(t, env{}, false)
	assertNoOp(t, tel)
	if tel.MetricsHandler() != nil {
		t.Fatal("a Prometheus handler without Config.Prometheus")
	}
	assertSummary(t, tel.Summary(), telemetry.Summary{Traces: "off (no OTLP endpoint set)", Metrics: "off (no OTLP endpoint set)"})
}

func assertNoOp(t *testing.T, tel *telemetry.Telemetry) {
	t.Helper()
	if _, ok := tel.TracerProvider().(tracenoop.TracerProvider); !ok {
		t.Errorf("tracer provider %T, want the no-op one", tel.TracerProvider())
	}
	if _, ok := tel.MeterProvider().(metricnoop.MeterProvider); !ok {
		t.Errorf("meter provider %T, want the no-op one", tel.MeterProvider())
	}
}

func assertSummary(t *testing.T, got, want telemetry.Summary) {
	t.Helper()
	if got.Traces != want.Traces || got.Metrics != want.Metrics || !slices.Equal(got.Warnings, want.Warnings) {
		t.Fatalf("summary\n got %#v\nwant %#v", got, want)
	}
}

// An endpoint turns both signals on: what was recorded reaches it by
// Shutdown, with the resource, over the variables the exporter reads
// itself (gzip).
func TestEndpointExportsBoth(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	r := otlptest.Start(t)
	tel := mustNew(t, env{"OTEL_EXPORTER_OTLP_ENDPOINT": r.URL}, false)
	if _, ok := tel.TracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Fatalf("tracer provider %T, want the SDK's", tel.TracerProvider())
	}
	if _, ok := tel.MeterProvider().(*sdkmetric.MeterProvider); !ok {
		t.Fatalf("meter provider %T, want the SDK's", tel.MeterProvider())
	}
	assertSummary(t, tel.Summary(), telemetry.Summary{Traces: "otlp http/protobuf " + r.URL + "/v1/traces", Metrics: "otlp http/protobuf " + r.URL + "/v1/metrics"})
	record(t, tel)
	shutdown(t, tel)
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatalf("a second Shutdown: %v", err)
	}
	got := r.Received()
	if !slices.ContainsFunc(got.Spans, func(s otlptest.Span) bool {
		return s.Name == "work" && s.Resource["service.name"] == telemetry.DefaultServiceName && s.Resource["service.version"] == "v1.2.3"
	}) {
		t.Fatalf("no span work from agentvisor-agent v1.2.3; received:\n%s", got)
	}
	if !slices.ContainsFunc(got.Metrics, func(m otlptest.Metric) bool { return m.Name == "jobs.done" }) {
		t.Fatalf("no metric jobs.done; received:\n%s", got)
	}
}

// Each signal is decided on its own: OTEL_TRACES_EXPORTER=none stops the
// spans, not the metrics.
func TestTracesExporterNone(t *testing.T) {
	r := otlptest.Start(t)
	tel := mustNew(t, env{"OTEL_EXPORTER_OTLP_ENDPOINT": r.URL, "OTEL_TRACES_EXPORTER": "none"}, false)
	if _, ok := tel.TracerProvider().(tracenoop.TracerProvider); !ok {
		t.Fatalf("tracer provider %T, want the no-op one", tel.TracerProvider())
	}
	record(t, tel)
	shutdown(t, tel)
	got := r.Received()
	if len(got.Spans) != 0 || !slices.ContainsFunc(got.Metrics, func(m otlptest.Metric) bool { return m.Name == "jobs.done" }) {
		t.Fatalf("want jobs.done and no span; received:\n%s", got)
	}
	assertSummary(t, tel.Summary(), telemetry.Summary{Traces: "off (OTEL_TRACES_EXPORTER=none)", Metrics: "otlp http/protobuf " + r.URL + "/v1/metrics"})
}

// A gRPC endpoint gets nothing (an HTTP post to it would fail on every
// batch): the signal is off, and the summary names the variable.
func TestGRPCProtocolIsNotExported(t *testing.T) {
	r := otlptest.Start(t)
	tel := mustNew(t, env{"OTEL_EXPORTER_OTLP_ENDPOINT": r.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, false)
	assertNoOp(t, tel)
	record(t, tel)
	shutdown(t, tel)
	if got := r.Received(); len(got.Requests) != 0 {
		t.Fatalf("exported with protocol grpc:\n%s", got)
	}
	assertSummary(t, tel.Summary(), telemetry.Summary{
		Traces:  "off (OTEL_EXPORTER_OTLP_PROTOCOL=grpc unsupported)",
		Metrics: "off (OTEL_EXPORTER_OTLP_PROTOCOL=grpc unsupported)",
		Warnings: []string{
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc: unsupported for traces (http/protobuf or http/json); traces not exported",
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc: unsupported for metrics (http/protobuf); metrics not exported",
		},
	})
}

// The traces exporter speaks http/json too, the metrics exporter does not.
func TestHTTPJSONTraces(t *testing.T) {
	r := otlptest.Start(t)
	tel := mustNew(t, env{"OTEL_EXPORTER_OTLP_ENDPOINT": r.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, false)
	record(t, tel)
	shutdown(t, tel)
	got := r.Received()
	if len(got.Requests) != 1 || got.Requests[0].Path != "/v1/traces" || got.Requests[0].ContentType != "application/json" {
		t.Fatalf("want one JSON post of traces; received:\n%s", got)
	}
	assertSummary(t, tel.Summary(), telemetry.Summary{
		Traces:   "otlp http/json " + r.URL + "/v1/traces",
		Metrics:  "off (OTEL_EXPORTER_OTLP_PROTOCOL=http/json unsupported)",
		Warnings: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=http/json: unsupported for metrics (http/protobuf); metrics not exported"},
	})
}

// What the summary says for each way of asking, endpoints and exporters.
func TestSummary(t *testing.T) {
	c := otlptest.Start(t).URL // so that the final exports go nowhere else
	tests := []struct {
		name string
		env  env
		want telemetry.Summary
	}{
		{"per-signal endpoints, as they are", env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": c + "/t", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": c},
			telemetry.Summary{Traces: "otlp http/protobuf " + c + "/t", Metrics: "otlp http/protobuf " + c}},
		{"a base endpoint with a path", env{"OTEL_EXPORTER_OTLP_ENDPOINT": c + "/otlp/"},
			telemetry.Summary{Traces: "otlp http/protobuf " + c + "/otlp/v1/traces", Metrics: "otlp http/protobuf " + c + "/otlp/v1/metrics"}},
		{"a per-signal endpoint wins", env{"OTEL_EXPORTER_OTLP_ENDPOINT": c, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": c + "/other"},
			telemetry.Summary{Traces: "otlp http/protobuf " + c + "/other", Metrics: "otlp http/protobuf " + c + "/v1/metrics"}},
		{"otlp asked, no endpoint: the specification's default", env{"OTEL_TRACES_EXPORTER": "otlp"},
			telemetry.Summary{Traces: "otlp http/protobuf http://localhost:4318/v1/traces", Metrics: "off (no OTLP endpoint set)"}},
		{"a per-signal protocol wins", env{"OTEL_EXPORTER_OTLP_ENDPOINT": c, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
			telemetry.Summary{Traces: "off (OTEL_EXPORTER_OTLP_PROTOCOL=grpc unsupported)", Metrics: "otlp http/protobuf " + c + "/v1/metrics",
				Warnings: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc: unsupported for traces (http/protobuf or http/json); traces not exported"}}},
		{"an exporter not built in", env{"OTEL_EXPORTER_OTLP_ENDPOINT": c, "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "otlp,prometheus"},
			telemetry.Summary{Traces: "off (OTEL_TRACES_EXPORTER=console)", Metrics: "otlp http/protobuf " + c + "/v1/metrics",
				Warnings: []string{"OTEL_TRACES_EXPORTER=console: console unsupported (otlp or none)", "OTEL_METRICS_EXPORTER=otlp,prometheus: prometheus unsupported (otlp or none)"}}},
		{"an endpoint that is no URL", env{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			telemetry.Summary{Traces: "off (OTEL_EXPORTER_OTLP_ENDPOINT invalid)", Metrics: "off (OTEL_EXPORTER_OTLP_ENDPOINT invalid)",
				Warnings: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: want an http:// or https:// URL; traces not exported",
					"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4318: want an http:// or https:// URL; metrics not exported"}}},
		{"a propagator not built in", env{"OTEL_PROPAGATORS": "tracecontext,xray"},
			telemetry.Summary{Traces: "off (no OTLP endpoint set)", Metrics: "off (no OTLP endpoint set)",
				Warnings: []string{"OTEL_PROPAGATORS=tracecontext,xray: xray unsupported (tracecontext, baggage or none); ignored"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertSummary(t, mustNew(t, tt.env, false).Summary(), tt.want)
		})
	}
}

// OTEL_PROPAGATORS picks among tracecontext and baggage; both by default.
func TestPropagator(t *testing.T) {
	tests := []struct {
		propagators string
		want        []string // the fields it injects
	}{
		{"", []string{"baggage", "traceparent", "tracestate"}},
		{"tracecontext", []string{"traceparent", "tracestate"}},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.propagators, func(t *testing.T) {
			got := mustNew(t, env{"OTEL_PROPAGATORS": tt.propagators}, false).Propagator().Fields()
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("fields %q, want %q", got, tt.want)
			}
		})
	}
}

// service.name: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES', else
// Config.ServiceName, else agentvisor-agent. The SDK reads both variables
// from the process's environment.
func TestServiceName(t *testing.T) {
	tests := []struct {
		name        string
		serviceName string // Config.ServiceName
		envName     string // OTEL_SERVICE_NAME
		attributes  string // OTEL_RESOURCE_ATTRIBUTES
		want        string
		wantVersion string
	}{
		{"default", "", "", "", "agentvisor-agent", "v1.2.3"},
		{"the program's", "my-agent", "", "", "my-agent", "v1.2.3"},
		{"resource attributes", "my-agent", "", "service.name=from-attrs,service.version=v9", "from-attrs", "v9"},
		{"OTEL_SERVICE_NAME wins", "my-agent", "from-env", "service.name=from-attrs", "from-env", "v1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", tt.envName)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tt.attributes)
			r := otlptest.Start(t)
			tel := telemetry.New(context.Background(), telemetry.Config{ServiceName: tt.serviceName, ServiceVersion: "v1.2.3",
				Getenv: env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": r.URL + "/v1/traces"}.get})
			record(t, tel)
			shutdown(t, tel)
			got := r.Received()
			if len(got.Spans) != 1 || got.Spans[0].Resource["service.name"] != tt.want || got.Spans[0].Resource["service.version"] != tt.wantVersion {
				t.Fatalf("want service %s %s; received:\n%s", tt.want, tt.wantVersion, got)
			}
		})
	}
}

// A malformed OTEL_RESOURCE_ATTRIBUTES is a warning; its well-formed pairs
// are kept.
func TestMalformedResourceAttributes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team=agents,broken")
	r := otlptest.Start(t)
	tel := mustNew(t, env{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": r.URL + "/v1/traces"}, false)
	if w := tel.Summary().Warnings; len(w) != 1 || !strings.HasPrefix(w[0], "OTEL_RESOURCE_ATTRIBUTES: ") || !strings.Contains(w[0], "broken") {
		t.Fatalf("warnings %q, want one naming OTEL_RESOURCE_ATTRIBUTES and the broken pair", w)
	}
	record(t, tel)
	shutdown(t, tel)
	if got := r.Received(); len(got.Spans) != 1 || got.Spans[0].Resource["team"] != "agents" {
		t.Fatalf("want team=agents kept; received:\n%s", got)
	}
}

// The Prometheus handler serves what was recorded in the text exposition
// format, with the resource as target_info, beside OTLP or alone.
func TestPrometheusHandler(t *testing.T) {
	r := otlptest.Start(t)
	for _, tt := range []struct {
		name        string
		env         env
		wantMetrics string // the summary's
	}{
		{"alone", env{}, "prometheus"},
		{"beside OTLP", env{"OTEL_EXPORTER_OTLP_ENDPOINT": r.URL}, "otlp http/protobuf " + r.URL + "/v1/metrics + prometheus"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tel := mustNew(t, tt.env, true)
			if got := tel.Summary().Metrics; got != tt.wantMetrics {
				t.Fatalf("metrics %q, want %q", got, tt.wantMetrics)
			}
			record(t, tel)
			families := scrape(t, tel.MetricsHandler())
			if m := families["jobs_done_total"].GetMetric(); len(m) != 1 || m[0].GetCounter().GetValue() != 3 {
				t.Fatalf("jobs_done_total %v, want one counter at 3; families: %v", m, slices.Sorted(maps.Keys(families)))
			}
			if !hasLabel(families["target_info"], "service_name", telemetry.DefaultServiceName) {
				t.Fatalf("target_info %v, want service_name %s", families["target_info"], telemetry.DefaultServiceName)
			}
		})
	}
}

// SetGlobal makes the providers otel's, and sends otel's errors and
// internal warnings to the logger as JSON lines, not to stderr.
func TestSetGlobal(t *testing.T) {
	var logs logbuf.Buffer
	tel := telemetry.New(context.Background(), telemetry.Config{Getenv: env{}.get, Logger: zerolog.New(&logs), Prometheus: true})
	t.Cleanup(func() { stop(tel) })
	tel.SetGlobal()
	if otel.GetMeterProvider() != tel.MeterProvider() || otel.GetTracerProvider() != tel.TracerProvider() {
		t.Fatal("the global providers are not tel's")
	}
	if got := otel.GetTextMapPropagator().Fields(); !slices.Contains(got, "traceparent") || !slices.Contains(got, "baggage") {
		t.Fatalf("global propagator fields %q", got)
	}
	otel.Handle(errors.New("export failed"))
	tel.MeterProvider().Meter("") // the SDK warns of the empty name through otel's logger
	lines := logs.Lines(t)
	want := []string{"telemetry error: export failed", "Invalid Meter name.: "}
	var got []string
	for _, l := range lines {
		if l["level"] == "warn" && l["component"] == "telemetry" {
			e, _ := l["error"].(string)
			got = append(got, l["message"].(string)+": "+e)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("warn lines %q, want %q; logs:\n%s", got, want, logs.String())
	}
}

// scrape gets h's exposition and parses it as Prometheus does.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	if h == nil {
		t.Fatal("no metrics handler")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %q\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, rec.Body)
	}
	return families
}

func hasLabel(f *dto.MetricFamily, name, value string) bool {
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				return true
			}
		}
	}
	return false
}
