// Command agentbench measures agentvisor against the targets of issue 6, in
// one run on one machine. `make bench` runs it after the Go benchmarks.
//
// Over HTTP, wrk drives each scenario with the same load (-threads 2,
// -connections 64 keep-alive, 127.0.0.1 only) against servers in this
// process:
//
//	(1)  a bare net/http handler answering a fixed ping body: the ceiling
//	(2)  the agent's /ping, idle
//	(3)  the agent's /ping while -tracked (10,000) tasks are tracked
//	(4)  the agent's /ping while -churners goroutines start and end tasks as
//	     fast as the agent allows (the starts per second are printed)
//	(1b) a bare net/http POST handler that reads the body: the POST ceiling
//	(5)  the agent's POST /invocations with a trivial entrypoint
//
// The scenarios run -rounds times (3) for -duration each (4s), interleaved so
// that a burst of noise from the rest of the machine lands on one run of
// each rather than on every run of one; the table shows each figure's
// median (requests/s, p50 and p99) and the median of each round's ratios to
// the ceiling of that round, (1) (and (1b) for POSTs). In process, from -callers goroutines: AddAsyncTask +
// CompleteAsyncTask pairs per second, Go of an empty function to completion
// per second, the status afterwards, and the live heap per tracked idle task
// at each -heap-tasks count. Last, each target of the issue with PASS or
// FAIL. A missed target does not change the exit status; a broken
// measurement (wrk missing, an error answer, a wrong status) does.
//
//	go run ./internal/cmd/agentbench                 about 2 minutes, 1,000,000 tasks included
//	go run ./internal/cmd/agentbench -quick          one 1s run per scenario, 100,000 tasks only
//	go run ./internal/cmd/agentbench -scenarios 4 -rounds 1 -cpuprofile cpu.out
//	                                        the ceiling and scenario 4, profiled
//	go run ./internal/cmd/agentbench -h              every flag
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
