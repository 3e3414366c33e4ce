package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/listen"
	"github.com/agentvisor/agentvisor/telemetry"
)

// telemetryStopTimeout bounds the last flush: an unreachable collector
// must not hold the exit the platform waits for.
const telemetryStopTimeout = 2 * time.Second

// metricsStopTimeout bounds a scrape still running at the stop.
const metricsStopTimeout = 2 * time.Second

// startTelemetry sets OpenTelemetry up from the environment as otel's
// global, which the supervisor and httpapi use when given no provider, and
// logs what it set up, at warn level when a setting was not honoured.
func startTelemetry(ctx context.Context, cfg config, getenv func(string) string, log zerolog.Logger) *telemetry.Telemetry {
	tel := telemetry.New(ctx, telemetry.Config{ServiceVersion: version, Getenv: getenv, Logger: log, Prometheus: cfg.metricsAddr != ""})
	tel.SetGlobal()
	summary := tel.Summary()
	event := log.Info()
	if len(summary.Warnings) > 0 {
		event = log.Warn()
	}
	event.Str("component", "telemetry").EmbedObject(summary).Msg("telemetry")
	return tel
}

// stopTelemetry flushes and stops the exporters. A failure is logged, not
// returned: telemetry does not change how the agent exits.
func stopTelemetry(tel *telemetry.Telemetry, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), telemetryStopTimeout)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn().Str("component", "telemetry").Err(err).Msg("telemetry not flushed")
	}
}

// serveMetrics serves h at http://addr/metrics on a listener of its own:
// the platform routes only the agent's port, whose routes are the
// contract's. It owns the Serve goroutine; stop shuts the server down and
// waits for it. With no addr, or no handler (OTEL_SDK_DISABLED), it serves
// nothing.
func serveMetrics(addr string, h http.Handler, log zerolog.Logger) (stop func(), err error) {
	if addr == "" || h == nil {
		return func() {}, nil
	}
	ln, err := listen.On(addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	log = log.With().Str("component", "metrics").Logger()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1) // Serve's one result
	go func() { served <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("serving metrics")
	return func() { stopServer(srv, served, log) }, nil
}

// stopServer shuts srv down, cutting the scrapes still running after
// metricsStopTimeout, and waits for its Serve to return.
func stopServer(srv *http.Server, served <-chan error, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), metricsStopTimeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, srv.Close())
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		log.Warn().Err(err).Msg("metrics server stop")
	}
}
