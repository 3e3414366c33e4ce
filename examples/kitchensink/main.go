// Command kitchensink serves the kitchensink agent (package agent): every
// part of the agent contract, for end-to-end tests and client checks.
//
//	go run ./examples/kitchensink -addr 127.0.0.1:8080 -debug -ping auto
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/examples/kitchensink/agent"
	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// stopTimeout bounds the drain of tasks and requests on a signal.
const stopTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kitchensink:", err)
		os.Exit(1)
	}
}

// run serves the kitchensink agent until ctx is done, then drains and stops.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("kitchensink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	debug := fs.Bool("debug", os.Getenv("AGENT_DEBUG") == "1", "turn on debug mode: the contract's debug actions and the /debug/ actor tree (env AGENT_DEBUG=1)")
	ping := fs.String("ping", "auto", "custom ping function: auto (none), busy or fail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mode, err := agent.ParsePingMode(*ping)
	if err != nil {
		return err
	}
	log := zerolog.New(stderr).With().Timestamp().Logger()
	sup, err := supervisor.New(supervisor.Config{Logger: log})
	if err != nil {
		return err
	}
	srv, err := agent.New(agent.Config{Supervisor: sup, Logger: log, Debug: *debug, Ping: mode})
	if err != nil {
		return errors.Join(err, sup.Shutdown(context.Background()))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), sup.Shutdown(context.Background()))
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		err := stop(srv, sup)
		return errors.Join(err, <-served)
	case err := <-served:
		return errors.Join(err, stop(srv, sup))
	}
}

// stop refuses new invocations, drains the tasks, then the HTTP server.
func stop(srv *httpapi.Server, sup *supervisor.Supervisor) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	srv.Drain()
	_ = sup.Shutdown(ctx) // it logs the tasks it had to cut
	return srv.Shutdown(ctx)
}
