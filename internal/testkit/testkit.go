// Package testkit is what the project's tests share besides the leak check
// (leakcheck), the log sink (logbuf) and the real-process harness
// (proctest): waiting for a condition with a deadline, stopping a
// supervisor at once, and an HTTP call read to its end.
package testkit

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// Timeout bounds every wait of the tests: a condition that takes longer is a
// failure, not a slow machine.
const Timeout = 30 * time.Second

// Eventually polls cond until it holds, failing the test after Timeout. It
// is for conditions no event announces (an answer over HTTP, a log line);
// in a testing/synctest bubble prefer synctest.Wait.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // a poll interval, not a wait for an event
	}
}

// ShutdownNow shuts sup down, giving running tasks no time to finish.
func ShutdownNow(sup *supervisor.Supervisor) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = sup.Shutdown(ctx)
}

// Answer is an HTTP response read to its end.
type Answer struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends method url with body and header, and reads the answer to its
// end; a failed request fails the test.
func Do(tb testing.TB, method, url, body string, header http.Header) Answer {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	return Answer{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}
