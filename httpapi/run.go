package httpapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/agentvisor/agentvisor/internal/listen"
	"github.com/agentvisor/agentvisor/supervisor"
)

// DefaultDrainTimeout is Config.DrainTimeout's default.
const DefaultDrainTimeout = 10 * time.Second

// httpStopTimeout bounds the wait for in-flight requests and WebSocket
// sessions once the tasks are drained: the drain may have used all of its
// own time.
const httpStopTimeout = 5 * time.Second

// errSecondSignal cuts the drain short, as its context's cause, so that the
// log can say what cut the tasks.
var errSecondSignal = errors.New("second signal")

// Run serves the agent the way the platform expects, as the reference's
// app.run() does: it listens on Config.Addr (0.0.0.0:$PORT, port 8080 by
// default) and serves until SIGINT or SIGTERM, or until ctx is done. Then it
// stops in the one order that keeps /ping truthful: new invocations are
// refused with 503, the tasks get Config.DrainTimeout to finish (the
// supervisor cancels and logs the ones left; a second signal cuts the wait
// short), WebSocket sessions are closed with 1001, and the HTTP server gets
// five seconds of its own for the requests in flight. What is left of those
// five seconds flushes Config.TracerProvider and Config.MeterProvider (those
// with a ForceFlush method, as the SDK's have): the flush makes the stop no
// longer. It returns nil after such a stop, cut tasks included (they are
// logged), whatever the flush gave (a failure is logged: telemetry never
// fails the agent); an error means the agent could not listen, or its
// server or supervisor failed.
//
// Run stops the Supervisor too: a program calls it last, in main.
func (s *Server) Run(ctx context.Context) error {
	ln, err := listen.On(s.cfg.Addr)
	if err != nil {
		err = fmt.Errorf("listen: %w", err)
		now, cancel := context.WithCancel(context.Background())
		cancel() // nothing was served: no time for tasks
		return errors.Join(err, s.sup.Shutdown(now))
	}
	sigs := make(chan os.Signal, 2) // the first two signals; Run ignores later ones
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1) // Serve's one result
	go func() { served <- s.Serve(ln) }()
	select {
	case <-ctx.Done():
	case <-sigs:
	case err := <-served:
		return errors.Join(err, s.stop(sigs))
	}
	s.log.Info().Dur("drain_timeout", s.cfg.DrainTimeout).Msg("stopping: draining tasks")
	err = s.stop(sigs)
	return errors.Join(err, <-served)
}

// stop drains the tasks, then stops the HTTP server with time of its own,
// whatever the drain gave (a server left serving would never let Run
// return), and flushes the telemetry in what is left of that time.
func (s *Server) stop(sigs <-chan os.Signal) error {
	s.Drain()
	drainErr := s.drainTasks(sigs)
	ctx, cancel := context.WithTimeout(context.Background(), httpStopTimeout)
	defer cancel()
	err := errors.Join(drainErr, s.Shutdown(ctx))
	s.flushTelemetry(ctx) // the last spans end with the requests Shutdown waited for
	if err != nil {
		return err
	}
	s.log.Info().Msg("stopped")
	return nil
}

// drainTasks shuts the supervisor down within the drain timeout, or sooner
// on a signal, and logs which of the two cut the tasks left.
func (s *Server) drainTasks(sigs <-chan os.Signal) error {
	timed, cancelTimed := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	defer cancelTimed()
	ctx, cut := context.WithCancelCause(timed)
	watched := make(chan struct{})
	go func() { // watches for the second signal until the drain ends
		defer close(watched)
		select {
		case <-sigs:
			s.log.Warn().Msg("second signal: cutting the drain short")
			cut(errSecondSignal)
		case <-ctx.Done():
		}
	}()
	defer func() { cut(nil); <-watched }()
	err := s.sup.Shutdown(ctx)
	if errors.Is(err, supervisor.ErrTasksCut) {
		msg := "tasks cut by the drain timeout"
		if errors.Is(context.Cause(ctx), errSecondSignal) {
			msg = "tasks cut by a second signal"
		}
		s.log.Warn().Err(err).Msg(msg)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop supervisor: %w", err)
	}
	return nil
}
