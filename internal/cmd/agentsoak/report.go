package main

import (
	"fmt"
	"io"
	"time"
)

// report is the soak's outcome.
type report struct {
	duration time.Duration
	workers  int
	load     loadResults
	rss      []int64 // the agent's RSS: before the load, every 10 s, after it settled
	final    string  // the status /ping reported at the end
	settle   time.Duration
	exit     error // the agent's exit after SIGTERM
}

func (r *report) errorCount() int {
	n := 0
	for _, c := range r.load.errors {
		n += c
	}
	return n
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "soak: %s, %d clients against the kitchensink agent on 127.0.0.1\n", r.duration, r.workers)
	fmt.Fprintf(w, "requests served   %d (%.0f/s)\n", r.load.requests, float64(r.load.requests)/r.duration.Seconds())
	fmt.Fprintf(w, "errors            %d\n", r.errorCount())
	for cause, n := range r.load.errors {
		fmt.Fprintf(w, "  %6d  %s\n", n, cause)
	}
	fmt.Fprintf(w, "/ping latency     p50 %s  p99 %s  max %s  (%d pings)\n",
		r.load.pingP50.Round(time.Microsecond), r.load.pingP99.Round(time.Microsecond), r.load.pingMax.Round(time.Microsecond), r.load.pings)
	fmt.Fprintf(w, "agent RSS (MiB)  ")
	for _, b := range r.rss {
		fmt.Fprintf(w, " %.1f", float64(b)/(1<<20))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "final status      %s (%s after the load)\n", r.final, r.settle.Round(time.Millisecond))
	fmt.Fprintf(w, "agent exit        %v\n", exitText(r.exit))
}

func exitText(err error) string {
	if err == nil {
		return "0 (clean)"
	}
	return err.Error()
}

// verdict fails the soak on any error, a final status other than Healthy,
// or an unclean exit.
func (r *report) verdict() error {
	switch {
	case r.errorCount() > 0:
		return fmt.Errorf("%w: %d errors", errSoakFailed, r.errorCount())
	case r.final != "Healthy":
		return fmt.Errorf("%w: final status %s", errSoakFailed, r.final)
	case r.exit != nil:
		return fmt.Errorf("%w: agent exit: %v", errSoakFailed, r.exit)
	}
	return nil
}
