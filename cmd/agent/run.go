package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/seed"
	"github.com/agentvisor/agentvisor/supervisor"
)

// run serves the seed agent until a signal or until ctx is done, then
// drains and stops (httpapi.Server.Run), stops the metrics listener and
// flushes the telemetry; `agent tree ...` prints the actor tree of a running
// agent instead. It returns nil after a clean stop, and for -h.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "tree" {
		return runTree(ctx, args[1:], stdout)
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.version {
		_, err := fmt.Fprintln(stdout, versionLine())
		return err
	}
	log := newLogger(cfg, stderr)
	tel := startTelemetry(ctx, cfg, getenv, log)
	defer stopTelemetry(tel, log)
	stopMetrics, err := serveMetrics(cfg.metricsAddr, tel.MetricsHandler(), log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	return serve(ctx, cfg, log)
}

// serve runs the seed agent's HTTP server until it stops.
func serve(ctx context.Context, cfg config, log zerolog.Logger) error {
	sup, err := supervisor.New(supervisor.Config{Logger: log})
	if err != nil {
		return err
	}
	srv, err := httpapi.New(httpapi.Config{Supervisor: sup, Logger: log, Entrypoint: seed.New(sup, log).Invoke, Debug: cfg.debug,
		Addr: cfg.addr, DrainTimeout: cfg.drainTimeout, SessionIdleTimeout: cfg.idleTimeout,
		Propagator: otel.GetTextMapPropagator()}) // OTEL_PROPAGATORS's, which startTelemetry made the global
	if err != nil {
		return errors.Join(err, sup.Shutdown(context.Background()))
	}
	return srv.Run(ctx)
}

// newLogger is the process's logger: JSON lines, or console text on request,
// coloured only on a terminal: escape codes in a file or a log collector are
// noise.
func newLogger(cfg config, w io.Writer) zerolog.Logger {
	if cfg.logFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).Level(cfg.logLevel).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
