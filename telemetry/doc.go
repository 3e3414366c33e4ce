// Package telemetry sets OpenTelemetry up from the standard OTEL_*
// environment, for the seed agent and for any program embedding
// agentvisor: traces and metrics exported over OTLP/HTTP, metrics for
// Prometheus to scrape, W3C trace context propagation.
//
// A program builds it first, makes it otel's global, logs what it set up,
// and shuts it down last, so that what its last requests recorded is sent:
//
//	tel := telemetry.New(ctx, telemetry.Config{ServiceVersion: version, Logger: log})
//	tel.SetGlobal() // supervisor and httpapi use the global providers by default
//	log.Info().EmbedObject(tel.Summary()).Msg("telemetry")
//	defer tel.Shutdown(ctx) // with a deadline of a few seconds
//
// httpapi reads incoming trace context with its own default propagator
// (W3C trace context and baggage), not the global one: pass
// tel.Propagator() as httpapi.Config.Propagator so that OTEL_PROPAGATORS
// applies to requests too, as the seed agent does.
//
// Nothing set, nothing runs: each signal stays a no-op provider until the
// environment asks for it. New never fails, since telemetry must not keep
// an agent from serving: a setting it cannot honour (a gRPC endpoint, an
// exporter it does not have) turns that signal off and is named in the
// summary's warnings.
//
// What it reads (Config.Getenv, os.Getenv by default):
//
//	OTEL_SDK_DISABLED=true            no SDK at all: no-op providers, nothing
//	                                  exported or collected, no Prometheus
//	OTEL_EXPORTER_OTLP_ENDPOINT       traces and metrics to <url>/v1/traces and
//	                                  <url>/v1/metrics
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
//	OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
//	                                  one signal to this URL, as it is
//	OTEL_TRACES_EXPORTER,             otlp: export even without an endpoint (to
//	OTEL_METRICS_EXPORTER             http://localhost:4318); none: never; other
//	                                  exporters are not built in (a warning)
//	OTEL_EXPORTER_OTLP_PROTOCOL,      http/protobuf (the default); http/json for
//	OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
//	OTEL_EXPORTER_OTLP_METRICS_PROTOCOL
//	                                  traces only; grpc is not built in: the
//	                                  signal is not exported (a warning)
//	OTEL_PROPAGATORS                  tracecontext, baggage (both by default),
//	                                  none; others are ignored (a warning)
//
// The exporters and the SDK read the rest from the process's environment
// themselves: OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION (gzip),
// _CERTIFICATE, _CLIENT_CERTIFICATE and _CLIENT_KEY, each also per signal
// (OTEL_EXPORTER_OTLP_TRACES_HEADERS, ...);
// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE; OTEL_BSP_SCHEDULE_DELAY,
// OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE and
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE (the span batcher); OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG (parent-based always-on by default);
// OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT (60 s and 30 s
// by default); OTEL_METRICS_EXEMPLAR_FILTER; the span limits
// (OTEL_SPAN_*_LIMIT, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
// OTEL_LINK_ATTRIBUTE_COUNT_LIMIT); and the resource:
// OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME, win over
// Config.ServiceName (DefaultServiceName by default) and
// Config.ServiceVersion.
package telemetry
