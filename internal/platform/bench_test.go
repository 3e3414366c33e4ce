package platform_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkInvoke is one invocation of a small echo agent, sent to the
// agent's /invocations directly and through the emulator: the difference
// per op is what the emulator adds (routing, session lookup, the second
// loopback hop, flushing).
func BenchmarkInvoke(b *testing.B) {
	cfg := shortConfig(badAgent.Path(b))
	cfg.IdleTimeout = time.Hour // direct calls do not reach the idle clock
	em := mustStart(b, cfg)
	id := sessionID("bench")
	if res := em.invoke(b, id, `{}`); res.Status != http.StatusOK {
		b.Fatalf("%d %s", res.Status, res.Body)
	}
	agentURL := "http://127.0.0.1:" + strconv.Itoa(em.Sessions()[0].Port) + "/invocations"
	b.Run("direct", func(b *testing.B) { benchPost(b, agentURL, id) })
	b.Run("emulator", func(b *testing.B) { benchPost(b, em.Base+invokePath, id) })
}

func benchPost(b *testing.B, url, id string) {
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"n":1}`))
		req.Header.Set("X-Amzn-Bedrock-AgentCore-Runtime-Session-Id", id)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
