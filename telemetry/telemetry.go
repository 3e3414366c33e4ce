package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is the service.name of a Config without ServiceName
// when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one.
const DefaultServiceName = "agentvisor-agent"

// Config is what New reads besides the environment. The zero value reads
// the process's environment and logs nowhere.
type Config struct {
	// ServiceName is the default service.name; empty: DefaultServiceName.
	ServiceName string
	// ServiceVersion is the service.version resource attribute, unless
	// OTEL_RESOURCE_ATTRIBUTES sets one; empty: none.
	ServiceVersion string
	// Getenv reads the variables that decide what is exported and where:
	// OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER, the
	// OTLP endpoints and protocols, OTEL_PROPAGATORS. nil: os.Getenv. The
	// SDK and the exporters read the others (headers, timeouts, compression,
	// certificates, OTEL_BSP_*, OTEL_TRACES_SAMPLER*,
	// OTEL_METRIC_EXPORT_*, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES)
	// from the process's environment themselves: nothing can hand them
	// another.
	Getenv func(string) string
	// Logger receives otel's errors and internal warnings once SetGlobal
	// has been called.
	Logger zerolog.Logger
	// Prometheus also collects the metrics for MetricsHandler, whatever
	// OTEL_METRICS_EXPORTER says; OTEL_SDK_DISABLED turns it off too.
	Prometheus bool
}

// Telemetry is the providers New set up. Its methods are safe for
// concurrent use.
type Telemetry struct {
	log            zerolog.Logger
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
	metricsHandler http.Handler
	summary        Summary
	sdks           []sdkProvider // flushed and stopped by Shutdown

	stopOnce sync.Once
	stopErr  error // the first Shutdown's, answered to every call
}

// sdkProvider is an SDK tracer or meter provider.
type sdkProvider interface {
	ForceFlush(context.Context) error
	Shutdown(context.Context) error
}

// New sets up the providers the environment asks for, each signal on its
// own. It never fails: a setting it cannot honour turns that signal off and
// is named in Summary().Warnings, since telemetry must not keep an agent
// from serving. A signal nothing asks for gets a no-op provider, which
// costs nothing. New sets nothing global (SetGlobal does).
func New(ctx context.Context, cfg Config) *Telemetry {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	t := &Telemetry{
		log:            cfg.Logger.With().Str("component", "telemetry").Logger(),
		tracerProvider: tracenoop.NewTracerProvider(),
		meterProvider:  metricnoop.NewMeterProvider(),
	}
	var warning string
	t.propagator, warning = propagatorOf(getenv)
	t.warn(warning)
	if v := getenv("OTEL_SDK_DISABLED"); strings.EqualFold(strings.TrimSpace(v), "true") {
		t.summary.Traces = "off (OTEL_SDK_DISABLED=" + v + ")"
		t.summary.Metrics = t.summary.Traces
		if cfg.Prometheus {
			t.warn("OTEL_SDK_DISABLED=" + v + ": no Prometheus metrics either")
		}
		return t
	}
	tracesExport, metricsExport := planExport(getenv, traces), planExport(getenv, metrics)
	t.warn(tracesExport.warning)
	t.warn(metricsExport.warning)
	var res *resource.Resource
	if tracesExport.on() || metricsExport.on() || cfg.Prometheus {
		res = t.resource(ctx, cfg)
	}
	t.setUpTraces(ctx, tracesExport, res)
	t.setUpMetrics(ctx, metricsExport, cfg.Prometheus, res)
	return t
}

func (t *Telemetry) warn(warning string) {
	if warning != "" {
		t.summary.Warnings = append(t.summary.Warnings, warning)
	}
}

// resource is the SDK's attributes, then the default service.name and the
// version, then OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME: a later
// one wins. resource.Default() would add unknown_service:<binary>, and reads
// the environment once per process.
func (t *Telemetry) resource(ctx context.Context, cfg Config) *resource.Resource {
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(cfg.ServiceVersion))
	}
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithAttributes(attrs...), resource.WithFromEnv())
	if err != nil { // only the environment's attributes can be malformed; the rest is kept
		t.warn(fmt.Sprintf("OTEL_RESOURCE_ATTRIBUTES: %v; the well-formed attributes are kept", err))
	}
	return res
}

func (t *Telemetry) setUpTraces(ctx context.Context, e export, res *resource.Resource) {
	if !e.on() {
		t.summary.Traces = "off (" + e.off + ")"
		return
	}
	encoding := otlptracehttp.EncodingProtobuf
	if e.protocol == "http/json" {
		encoding = otlptracehttp.EncodingJSON
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(e.url), otlptracehttp.WithEncoding(encoding))
	if err != nil {
		t.warn(fmt.Sprintf("traces exporter: %v; traces not exported", err))
		t.summary.Traces = "off (exporter failed)"
		return
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t.tracerProvider, t.sdks = tp, append(t.sdks, tp)
	t.summary.Traces = "otlp " + e.protocol + " " + e.url
}

func (t *Telemetry) setUpMetrics(ctx context.Context, e export, prometheus bool, res *resource.Resource) {
	var opts []sdkmetric.Option
	var parts []string
	if e.on() {
		if exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(e.url)); err != nil {
			t.warn(fmt.Sprintf("metrics exporter: %v; metrics not exported", err))
			e.off = "exporter failed"
		} else {
			opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
			parts = append(parts, "otlp "+e.protocol+" "+e.url)
		}
	}
	if prometheus {
		reg := promclient.NewRegistry()
		if exp, err := otelprom.New(otelprom.WithRegisterer(reg)); err != nil {
			t.warn(fmt.Sprintf("prometheus exporter: %v; no Prometheus metrics", err))
		} else {
			opts = append(opts, sdkmetric.WithReader(exp))
			parts = append(parts, "prometheus")
			t.metricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		}
	}
	if len(opts) == 0 {
		t.summary.Metrics = "off (" + e.off + ")"
		return
	}
	mp := sdkmetric.NewMeterProvider(append(opts, sdkmetric.WithResource(res))...)
	t.meterProvider, t.sdks = mp, append(t.sdks, mp)
	t.summary.Metrics = strings.Join(parts, " + ")
}

// TracerProvider is the SDK's, exporting over OTLP, or a no-op one.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// MeterProvider is the SDK's, with an OTLP reader, a Prometheus one or
// both, or a no-op one.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.meterProvider }

// Propagator is OTEL_PROPAGATORS' choice of W3C tracecontext and baggage;
// both by default, OTEL_SDK_DISABLED or not.
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.propagator }

// MetricsHandler serves the metrics in Prometheus' text exposition format;
// nil unless Config.Prometheus was set and the SDK is not disabled.
func (t *Telemetry) MetricsHandler() http.Handler { return t.metricsHandler }

// Summary says what New set up.
func (t *Telemetry) Summary() Summary { return t.summary }

// SetGlobal makes the providers and the propagator otel's globals, which
// instrumentation given no provider uses, and sends otel's errors (a failed
// export, say) and its internal log to Config.Logger at warn level, instead
// of the standard logger's plain lines on stderr.
func (t *Telemetry) SetGlobal() {
	otel.SetTracerProvider(t.tracerProvider)
	otel.SetMeterProvider(t.meterProvider)
	otel.SetTextMapPropagator(t.propagator)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		t.log.Warn().Err(err).Msg("telemetry error")
	}))
	otel.SetLogger(logr.New(logSink{log: t.log}))
}

// Shutdown flushes what the providers hold to the exporters and stops
// them, both at once so that a slow endpoint of one signal does not use up
// ctx for the other. Later calls answer the first one's error.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.stopOnce.Do(func() {
		errs := make([]error, len(t.sdks))
		var wg sync.WaitGroup
		for i, p := range t.sdks {
			wg.Go(func() { errs[i] = errors.Join(p.ForceFlush(ctx), p.Shutdown(ctx)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.stopErr = fmt.Errorf("telemetry shutdown: %w", err)
		}
	})
	return t.stopErr
}

// Summary is what New set up, for the log line a program writes at start.
type Summary struct {
	// Traces is "otlp <protocol> <url>", or "off (<why>)".
	Traces string
	// Metrics is "otlp <protocol> <url>", "prometheus", both joined by " +
	// ", or "off (<why>)".
	Metrics string
	// Warnings name each setting not honoured, its variable and value.
	Warnings []string
}

// MarshalZerologObject writes the summary as the fields traces, metrics
// and, if any, warnings.
func (s Summary) MarshalZerologObject(e *zerolog.Event) {
	e.Str("traces", s.Traces).Str("metrics", s.Metrics)
	if len(s.Warnings) > 0 {
		e.Strs("warnings", s.Warnings)
	}
}
