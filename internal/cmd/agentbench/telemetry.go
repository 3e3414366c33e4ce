package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/agentvisor/agentvisor/telemetry"
)

// errNothingExported is (5o) measured without telemetry: no export reached
// its collector.
var errNothingExported = errors.New("telemetry exported nothing")

// collector stands in for an OTLP/HTTP collector in this process: it reads
// each export and answers success, an empty protobuf message (no bytes).
type collector struct {
	*server
	exports atomic.Int64
}

func startCollector() (*collector, error) {
	c := &collector{}
	srv, err := serveBare(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		c.exports.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	})
	c.server = srv
	return c, err
}

// exportingAgent is (5)'s agent with telemetry on, as the seed agent has it
// when OTEL_EXPORTER_OTLP_ENDPOINT is set: the SDK's providers made otel's
// globals, which the supervisor and httpapi use by default, exporting to a
// collector in this process. Stopping flushes the telemetry, checks that it
// exported, and turns it off again for the other scenarios.
func exportingAgent(cfg config) (running, error) {
	col, err := startCollector()
	if err != nil {
		return running{}, err
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.base}
	tel := telemetry.New(context.Background(), telemetry.Config{Getenv: func(name string) string { return env[name] }, Logger: agentLogger()})
	tel.SetGlobal()
	stopTelemetry := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		err := errors.Join(tel.Shutdown(ctx), col.close())
		telemetryOff()
		if err == nil && col.exports.Load() == 0 {
			err = errNothingExported
		}
		return err
	}
	a, err := startAgent(cfg)
	if err != nil {
		return running{}, errors.Join(err, stopTelemetry())
	}
	return running{srv: a.server, stop: func() error { return errors.Join(a.stop(), stopTelemetry()) }}, nil
}

// telemetryOff makes otel's globals the no-op providers, as the seed agent
// has them with no OTEL_* variable set: what every scenario but (5o)
// measures.
func telemetryOff() {
	telemetry.New(context.Background(), telemetry.Config{Getenv: func(string) string { return "" }, Logger: agentLogger()}).SetGlobal()
}
