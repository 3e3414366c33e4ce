package platform_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A streamed answer that lasts longer than the idle timeout does not get its
// session reaped while the agent counts it as busy (httpapi.Config.BusyAfter);
// without BusyAfter the session is terminated mid-stream at the idle
// timeout: the platform does not wait for a request in flight. (The
// agent's drain then lets the stream finish within its HTTP stop time, here
// and perhaps on the platform; the SIGTERM mid-turn is what users saw.)
func TestLongStreamHeldByBusyAfter(t *testing.T) {
	const events = 12 // 400 ms apart: 4.8 s, more than twice the 2 s idle timeout
	for _, tc := range []struct {
		name      string
		busyAfter string
		held      bool
	}{
		{"BusyAfter on", "300ms", true},
		{"BusyAfter off", "-1ns", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := shortConfig(streamAgent.Path(t), "-events", "12", "-busy-after", tc.busyAfter)
			cfg.IdleTimeout = 2 * time.Second
			em := mustStart(t, cfg)
			id := sessionID("stream" + strings.ReplaceAll(tc.name, " ", ""))
			req, _ := http.NewRequest(http.MethodPost, em.Base+invokePath, strings.NewReader(`{}`))
			req.Header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", id)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got := 0
			for sc := bufio.NewScanner(res.Body); sc.Scan(); {
				if strings.HasPrefix(sc.Text(), "data: ") {
					got++
				}
			}
			reaped := em.lines(t, "session terminating", id)
			if got != events {
				t.Fatalf("%d of %d events", got, events)
			}
			if tc.held && len(reaped) != 0 {
				t.Fatalf("held busy, the session was reaped mid-stream: %v", reaped)
			}
			if !tc.held && (len(reaped) != 1 || reaped[0]["reason"] != "idle") {
				t.Fatalf("not held: reaped %v, want terminated for idleness mid-stream", reaped)
			}
		})
	}
}
