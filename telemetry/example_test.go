package telemetry_test

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/telemetry"
)

// A program sets telemetry up from its environment, logs what it got, and
// shuts it down last. Here traces go to a collector, metrics nowhere, and
// the xray propagator, which is not built in, is named in a warning.
func ExampleNew() {
	environment := map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces",
		"OTEL_PROPAGATORS":                   "tracecontext,baggage,xray",
	}
	log := zerolog.New(os.Stdout)
	tel := telemetry.New(context.Background(), telemetry.Config{
		ServiceVersion: "v1.0.0",
		Getenv:         func(name string) string { return environment[name] },
		Logger:         log,
	})
	log.Info().EmbedObject(tel.Summary()).Msg("telemetry")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn().Err(err).Msg("telemetry not flushed")
	}
	// Output:
	// {"level":"info","traces":"otlp http/protobuf http://collector:4318/v1/traces","metrics":"off (no OTLP endpoint set)","warnings":["OTEL_PROPAGATORS=tracecontext,baggage,xray: xray unsupported (tracecontext, baggage or none); ignored"],"message":"telemetry"}
}
