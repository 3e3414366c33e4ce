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

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// httpStopTimeout bounds the wait for in-flight requests once the tasks are
// drained; requests still running then are cut.
const httpStopTimeout = 5 * time.Second

// run serves the seed agent until ctx is done (a signal, in main), then
// drains and stops, cutting the drain short when hard is closed (a second
// signal); `agent tree ...` prints the actor tree of a running agent
// instead. It returns nil after a clean stop, and for -h.
func run(ctx context.Context, hard <-chan struct{}, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
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
	log := newLogger(cfg, stderr)
	sup, err := supervisor.New(supervisor.Config{Logger: log})
	if err != nil {
		return err
	}
	srv, err := httpapi.New(httpapi.Config{Supervisor: sup, Logger: log, Entrypoint: newSeed(sup, log).invoke, Debug: cfg.debug})
	if err != nil {
		return errors.Join(err, sup.Shutdown(context.Background()))
	}
	ln, err := listen(cfg.addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), sup.Shutdown(context.Background()))
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		log.Info().Dur("drain_timeout", cfg.drainTimeout).Msg("stopping: draining tasks")
		err := stop(srv, sup, cfg.drainTimeout, hard, log)
		return errors.Join(err, <-served)
	case err := <-served:
		return errors.Join(err, stop(srv, sup, cfg.drainTimeout, hard, log))
	}
}

// errSecondSignal ends the drain before its timeout, as its context's
// cause, so that the log can say what cut the tasks.
var errSecondSignal = errors.New("second signal")

// stop refuses new invocations (503) while /ping keeps telling the truth,
// gives the tasks the drain timeout (the supervisor cancels and logs the
// ones left), then stops the HTTP server.
func stop(srv *httpapi.Server, sup *supervisor.Supervisor, drain time.Duration, hard <-chan struct{}, log zerolog.Logger) error {
	srv.Drain()
	if err := drainTasks(sup, drain, hard, log); err != nil {
		return err
	}
	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), httpStopTimeout)
	defer cancelHTTP()
	if err := srv.Shutdown(httpCtx); err != nil {
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

// drainTasks shuts the supervisor down within drain, or sooner when hard is
// closed, and logs which of the two cut the tasks left.
func drainTasks(sup *supervisor.Supervisor, drain time.Duration, hard <-chan struct{}, log zerolog.Logger) error {
	timed, cancelTimed := context.WithTimeout(context.Background(), drain)
	defer cancelTimed()
	ctx, cut := context.WithCancelCause(timed)
	defer cut(nil)
	go func() { // ends with the drain
		select {
		case <-hard:
			log.Warn().Msg("second signal: cutting the drain short")
			cut(errSecondSignal)
		case <-ctx.Done():
		}
	}()
	err := sup.Shutdown(ctx)
	if errors.Is(err, supervisor.ErrTasksCut) {
		msg := "tasks cut by the drain timeout"
		if errors.Is(context.Cause(ctx), errSecondSignal) {
			msg = "tasks cut by a second signal"
		}
		log.Warn().Err(err).Msg(msg)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop supervisor: %w", err)
	}
	return nil
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
