// Command kitchensink serves the kitchensink agent (package agent): every
// part of the agent contract, for end-to-end tests and client checks.
//
//	go run ./examples/kitchensink -addr 127.0.0.1:8080 -debug -ping auto
//
// It stops as the seed agent does (httpapi.Server.Run): on SIGTERM or
// SIGINT it refuses new invocations, waits up to -drain-timeout for the
// tasks, cancels and logs the ones left, stops the HTTP server and exits 0;
// a second signal ends the wait at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/examples/kitchensink/agent"
	"github.com/agentvisor/agentvisor/supervisor"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kitchensink:", err)
		os.Exit(1)
	}
}

// run serves the kitchensink agent until a signal or until ctx is done, then
// drains and stops (httpapi.Server.Run).
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("kitchensink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	debug := fs.Bool("debug", os.Getenv("AGENT_DEBUG") == "1", "turn on debug mode: the contract's debug actions and the /debug/ actor tree (env AGENT_DEBUG=1)")
	ping := fs.String("ping", "auto", "custom ping function: auto (none), busy or fail")
	drain := fs.Duration("drain-timeout", 10*time.Second, "how long a stop waits for tasks")
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
	srv, err := agent.New(agent.Config{Supervisor: sup, Logger: log, Debug: *debug, Ping: mode, Addr: *addr, DrainTimeout: *drain})
	if err != nil {
		return errors.Join(err, sup.Shutdown(context.Background()))
	}
	return srv.Run(ctx)
}
