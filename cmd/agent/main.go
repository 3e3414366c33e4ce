// Command agent is agentvisor's seed agent: the reference SDK's "Simple
// agent" from its async-processing example, served over the AgentCore
// Runtime contract. `make run` starts it on 0.0.0.0:8080.
//
// Payloads:
//
//	{"action": "process", "data_id": "x"}  a tracked 30 s task, data_processing
//	{"action": "cleanup"}                  a tracked 10 s task, cleanup
//	{"action": "status"}                   the ping status and the running tasks
//	{"action": "result", "task_id": 1}     one task's state, and its result or error once over
//	anything else                          what the agent can do
//
// An optional "seconds" field overrides a task's duration. Flags, each but
// -version with an environment fallback (the flag wins):
//
//	-addr           listen address, default 0.0.0.0:8080 (PORT sets the port)
//	-debug          debug mode (AGENT_DEBUG=1): the contract's debug actions,
//	                the /debug/ endpoints and the live actor tree page
//	-log-level      trace, debug, info, warn or error (AGENT_LOG_LEVEL), default info
//	-log-format     json or console (AGENT_LOG_FORMAT), default json; console
//	                is coloured only when stderr is a terminal
//	-drain-timeout  how long SIGTERM waits for tasks (AGENT_DRAIN_TIMEOUT), default 10s
//	-idle-timeout   the platform's idle session timeout the agent assumes, seconds
//	                or a duration (AGENT_IDLE_TIMEOUT), default 900: the debug
//	                views say when the platform ends an idle session
//	-metrics-addr   serve Prometheus metrics at http://<addr>/metrics, on a
//	                listener of its own (AGENT_METRICS_ADDR), default off
//	-version        print the version and commit stamped at build time, and exit
//
// Telemetry follows the standard OTEL_* environment (package telemetry, `go
// doc ./telemetry` lists every variable): traces and metrics are exported
// over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT, a per-signal endpoint or
// OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER=otlp is set, and nothing is
// set up otherwise; OTEL_SDK_DISABLED=true turns it all off, -metrics-addr
// included. OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name the service,
// agentvisor-agent by default; service.version is the stamped version. The
// "telemetry" log line at start says what goes where, at warn level with
// the settings not honoured (a grpc protocol, an exporter not built in):
// telemetry never stops the agent from starting.
//
// On SIGTERM or SIGINT it refuses new invocations with 503, waits for the
// tasks up to the drain timeout, cancels and logs the ones left, stops the
// HTTP server (5 s at most, the telemetry's flush included) and the metrics
// listener, stops the exporters (2 s at most) and exits 0. A second signal ends the wait at once: the tasks left are
// cancelled and logged, and it exits.
//
// `agent tree` prints the live actor tree of a running agent in debug mode,
// one line per actor, as pstree does:
//
//	agent tree [-addr http://127.0.0.1:8080] [-watch [-interval 1s]] [-json] [-limit n] [-offset n]
//
// -watch redraws it every second until Ctrl-C; -json prints the agent's
// JSON (GET /debug/actors) as it is.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}
