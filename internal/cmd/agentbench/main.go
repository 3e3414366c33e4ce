// Command agentbench measures agentvisor against the targets of issue 11, in
// one run on one machine: every target is a ratio to a ceiling measured in
// the same run, in the same process, with the same load. `make bench` runs
// it after the Go benchmarks.
//
// Over HTTP, wrk drives each scenario with the same load (-threads 2,
// -connections 64 keep-alive, 127.0.0.1 only) against servers in this
// process; each scenario's ratios are to the ceiling named in brackets:
//
//	(1)  a bare net/http handler answering a fixed ping body: the ceiling
//	(2)  the agent's /ping, idle (1)
//	(3)  the agent's /ping while -tracked (10,000) tasks are tracked (1)
//	(4c) the bare ping handler of (1) while -churners (4) goroutines start
//	     and end tasks on a supervisor in the same process, as fast as it
//	     allows: the ceiling of (4), which pays for the same churn (1)
//	(4)  the agent's /ping with the same churn on its own supervisor (4c)
//	(1b) a bare net/http POST handler that reads the body and answers it
//	     back: the POST ceiling (1)
//	(5)  the agent's POST /invocations, its entrypoint answering the
//	     payload, so that it moves the same bytes as (1b) (1b)
//	(5o) the same with telemetry on, as OTEL_EXPORTER_OTLP_ENDPOINT turns it
//	     on in the seed agent: the SDK's providers made otel's globals,
//	     exporting over OTLP/HTTP to a collector in this process that
//	     drops what it reads (5)
//
// The task starts per second during the load of (4c) and (4) are reported
// beside their requests. The scenarios run -rounds times (3) for -duration
// each (4s), interleaved so that a burst of noise from the rest of the
// machine lands on one run of each rather than on every run of one; the
// table shows each figure's median (requests/s, p50 and p99) and the median
// of each round's ratios to its ceiling in that round.
//
// In process, from -callers goroutines, -ops times each, -rounds times
// interleaved: the floor, protoactor's own spawn and stop of an actor that
// does nothing (what one actor per task costs at the least); then
// AddAsyncTask + CompleteAsyncTask pairs and Go of an empty function to
// completion, each per second and as a ratio to the floor of the same
// round; the status after each; and the live heap per tracked idle task at
// each -heap-tasks count. Last, each target of the issue with PASS or FAIL.
// A missed target does not change the exit status; a broken measurement
// (wrk missing, an error answer, a wrong status) does.
//
//	go run ./internal/cmd/agentbench           about 4 minutes, 1,000,000 tasks included
//	go run ./internal/cmd/agentbench -quick    one 1s run per scenario, 100,000 tasks only
//	go run ./internal/cmd/agentbench -scenarios 5 -rounds 1 -cpuprofile cpu.out
//	                                           scenario 5 and its ceilings, profiled
//	go run ./internal/cmd/agentbench -h        every flag
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "agentbench:", err)
		os.Exit(1)
	}
}
