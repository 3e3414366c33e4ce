package platform_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/internal/testkit"
)

// 100 sessions at once, each its own agent process, 10 invocations each:
// every invocation is answered by its own session's agent, and every
// session is reaped at idle, leaving no process.
func TestScale(t *testing.T) {
	t.Parallel()
	const sessions, invocations = 100, 10
	cfg := shortConfig(badAgent.Path(t))
	// A turn in flight does not hold a session, and with 100 agents
	// starting on 2 cores under -race, beside other packages' tests, one
	// turn can take seconds: the idle timeout leaves room for it, so that
	// only the end is idle. Pings every 500 ms leave the agents the CPU.
	cfg.IdleTimeout, cfg.PingInterval = 6*time.Second, 500*time.Millisecond
	cfg.StartTimeout = 20 * time.Second // 100 starts on 2 cores
	em := mustStart(t, cfg)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: sessions}, Timeout: testkit.Timeout}
	defer client.CloseIdleConnections()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex            // guards slowest
	var slowest [2]time.Duration // the first invocation (with the agent's start), a later one
	for i := range sessions {
		wg.Go(func() {
			id := sessionID(fmt.Sprintf("scale-%03d", i))
			for j := range invocations {
				sent := time.Now()
				if err := invokeEcho(client, em.Base, id, j); err != nil {
					t.Errorf("session %d, invocation %d: %v", i, j, err)
					return
				}
				mu.Lock()
				slowest[min(j, 1)] = max(slowest[min(j, 1)], time.Since(sent))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	answered := time.Since(start)
	pids := map[int]bool{}
	for _, pid := range em.pids(t) {
		pids[pid] = true
	}
	if len(pids) != sessions {
		t.Fatalf("%d agent processes started, want %d; ended:\n%v", len(pids), sessions, em.lines(t, "session ended", ""))
	}
	testkit.Eventually(t, "every session to be reaped", func() bool {
		return len(em.lines(t, "session ended", "")) == sessions
	})
	reaped := time.Since(start)
	for _, l := range em.lines(t, "session ended", "") {
		if l["reason"] != "idle" || l["exit_code"] != 0.0 {
			t.Errorf("ended as %v", l)
		}
	}
	if left := leftovers(t, em.pids(t)); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	t.Logf("%d sessions x %d invocations answered in %v (slowest first %v, slowest later %v); all reaped at idle (%v) after %v",
		sessions, invocations, answered.Round(time.Millisecond), slowest[0].Round(time.Millisecond), slowest[1].Round(time.Millisecond),
		cfg.IdleTimeout, reaped.Round(time.Millisecond))
}

// invokeEcho sends invocation j of session id and checks that the agent of
// that session answered it.
func invokeEcho(client *http.Client, base, id string, j int) error {
	req, err := http.NewRequest(http.MethodPost, base+invokePath, strings.NewReader(fmt.Sprintf(`{"n":%d}`, j)))
	if err != nil {
		return err
	}
	req.Header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", id)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	want := fmt.Sprintf(`"echo":{"n":%d},`, j)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), want) || !strings.Contains(string(body), `"session":"`+id+`"`) {
		return fmt.Errorf("%d %s", res.StatusCode, body)
	}
	return nil
}
