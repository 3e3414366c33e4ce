// Command agentcore-local stands in for Amazon Bedrock AgentCore Runtime in
// front of any agent binary: it serves the data-plane API that the AWS SDK
// calls (InvokeAgentRuntime, StopRuntimeSession), starts one agent process
// per session with PORT set, polls its /ping and ends each session as the
// platform does. docs/agentcore-local.md says what it models and why.
//
//	agentcore-local [flags] -- ./bin/agent [agent flags]
//
// Flags:
//
//	-addr           listen address, default 127.0.0.1:8090
//	-idle-timeout   idleRuntimeSessionTimeout, default 15m0s (900 s)
//	-max-lifetime   maxLifetime, default 8h0m0s
//	-ping-interval  how often each session's /ping is polled, default 2s
//	-stop-grace     SIGTERM to SIGKILL, default 15s
//	-start-timeout  process start to first /ping answer, default 30s
//	-log-format     auto (console on a terminal, else JSON), json or console
//
// GET /sessions lists the live sessions. SIGINT or SIGTERM ends every
// session (SIGTERM, the grace, SIGKILL) and exits.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"
)

func main() {
	// Milliseconds: lifecycle events a second apart must be told apart.
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentcore-local:", err)
		os.Exit(1)
	}
}
