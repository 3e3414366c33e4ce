package agent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/examples/kitchensink/agent"
	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// kitchensink is a running kitchensink agent.
type kitchensink struct {
	base string
	sup  *supervisor.Supervisor
}

// mustStart serves the kitchensink on 127.0.0.1:0 with a supervisor of its own.
func mustStart(tb testing.TB, debug bool, ping agent.PingMode) kitchensink {
	tb.Helper()
	sup, err := supervisor.New(supervisor.Config{Logger: zerolog.Nop()})
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := agent.New(agent.Config{Supervisor: sup, Debug: debug, Ping: ping})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Drain()
		_ = sup.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return kitchensink{base: ts.URL, sup: sup}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (k kitchensink) do(tb testing.TB, method, path, body string, header http.Header) answer {
	tb.Helper()
	a := testkit.Do(tb, method, k.base+path, body, header)
	return answer{status: a.Status, header: a.Header, body: a.Body}
}

func (k kitchensink) invoke(tb testing.TB, payload string) answer {
	tb.Helper()
	return k.do(tb, http.MethodPost, "/invocations", payload, nil)
}

func (k kitchensink) ping(tb testing.TB) answer {
	tb.Helper()
	return k.do(tb, http.MethodGet, "/ping", "", nil)
}

var pingRE = regexp.MustCompile(`^\{"status":"(Healthy|HealthyBusy)","time_of_last_update":([0-9]+)\}$`)

// pingStatus returns /ping's status and time, failing on any other shape.
func (k kitchensink) pingStatus(tb testing.TB) (string, string) {
	tb.Helper()
	a := k.ping(tb)
	m := pingRE.FindStringSubmatch(a.body)
	if a.status != 200 || m == nil || a.header.Get("Content-Type") != "application/json" {
		tb.Fatalf("/ping: %d %q %q", a.status, a.header.Get("Content-Type"), a.body)
	}
	return m[1], m[2]
}
