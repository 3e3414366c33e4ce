// Package lifecycle runs an agent's HTTP server and supervisor as a process
// on the platform: it listens on the address asked for, serves until the
// first SIGTERM or SIGINT, then stops in the one order that keeps /ping
// truthful: refuse new invocations (503), give the tasks the drain timeout
// (the supervisor cancels and logs the ones left; a second signal cuts the
// wait short), then give the HTTP server time of its own for in-flight
// requests and WebSocket sessions. The seed agent (cmd/agent) and the
// kitchensink share it, so that the stop sequence is written once.
//
//	ctx, hard := lifecycle.Signals()
//	ln, err := lifecycle.Listen(addr)
//	...
//	err = lifecycle.Serve(ctx, ln, lifecycle.Config{Server: srv, Supervisor: sup, Logger: log, DrainTimeout: 10 * time.Second, Hard: hard})
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// HTTPStopTimeout bounds the wait for in-flight requests and WebSocket
// sessions once the tasks are drained; what still runs then is cut.
const HTTPStopTimeout = 5 * time.Second

// Signals returns a context cancelled by the first SIGTERM or SIGINT and a
// channel closed by the second. The goroutine that watches lives as long as
// the process: call it once, from main.
func Signals() (context.Context, <-chan struct{}) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, stop := context.WithCancel(context.Background())
	hard := make(chan struct{})
	go func() {
		<-sigs
		stop()
		<-sigs
		close(hard)
	}()
	return ctx, hard
}

// Listen listens on addr, over IPv4 alone when its host is an IPv4 literal.
// Go's "tcp" turns 0.0.0.0 into a dual-stack socket that also takes IPv6
// and reports itself as [::]; the platform asks for 0.0.0.0, the reference
// (uvicorn) then listens on IPv4, and the log should say what was asked for.
// An empty host or [::] stays dual-stack.
func Listen(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// Config is what Serve runs and stops.
type Config struct {
	// Server serves the agent. Required.
	Server *httpapi.Server
	// Supervisor runs its tasks. Required.
	Supervisor *supervisor.Supervisor
	// Logger receives the stop's lines.
	Logger zerolog.Logger
	// DrainTimeout is how long a stop waits for tasks before cutting them.
	DrainTimeout time.Duration
	// Hard, once closed (a second signal), cuts the drain short; nil never does.
	Hard <-chan struct{}
}

// Serve serves cfg.Server on ln until ctx is done, then stops it and the
// supervisor. It returns nil after a clean stop, tasks cut included (they
// are logged): only a server or supervisor that fails is an error.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	served := make(chan error, 1) // Serve's one result, read below
	go func() { served <- cfg.Server.Serve(ln) }()
	select {
	case <-ctx.Done():
		cfg.Logger.Info().Dur("drain_timeout", cfg.DrainTimeout).Msg("stopping: draining tasks")
		err := stop(cfg)
		return errors.Join(err, <-served)
	case err := <-served:
		return errors.Join(err, stop(cfg))
	}
}

// stop refuses new invocations (503) while /ping keeps telling the truth,
// drains the tasks, then stops the HTTP server with time of its own: the
// drain may have used all of its.
func stop(cfg Config) error {
	cfg.Server.Drain()
	if err := drainTasks(cfg); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), HTTPStopTimeout)
	defer cancel()
	if err := cfg.Server.Shutdown(ctx); err != nil {
		return err
	}
	cfg.Logger.Info().Msg("stopped")
	return nil
}

// errSecondSignal ends the drain before its timeout, as its context's
// cause, so that the log can say what cut the tasks.
var errSecondSignal = errors.New("second signal")

// drainTasks shuts the supervisor down within the drain timeout, or sooner
// when cfg.Hard is closed, and logs which of the two cut the tasks left.
func drainTasks(cfg Config) error {
	timed, cancelTimed := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	defer cancelTimed()
	ctx, cut := context.WithCancelCause(timed)
	watched := make(chan struct{})
	go func() { // watches for the second signal until the drain ends
		defer close(watched)
		select {
		case <-cfg.Hard:
			cfg.Logger.Warn().Msg("second signal: cutting the drain short")
			cut(errSecondSignal)
		case <-ctx.Done():
		}
	}()
	defer func() { cut(nil); <-watched }()
	err := cfg.Supervisor.Shutdown(ctx)
	if errors.Is(err, supervisor.ErrTasksCut) {
		msg := "tasks cut by the drain timeout"
		if errors.Is(context.Cause(ctx), errSecondSignal) {
			msg = "tasks cut by a second signal"
		}
		cfg.Logger.Warn().Err(err).Msg(msg)
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop supervisor: %w", err)
	}
	return nil
}
