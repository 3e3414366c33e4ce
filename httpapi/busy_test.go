package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// busyAfter is short, so that a test's long request is long in real time
// without making the test slow.
const busyAfter = 20 * time.Millisecond

// longServer serves an entrypoint that runs until the test releases it or
// the request's context ends: a plain answer, a panic, or a stream,
// depending on the payload.
func longServer(t *testing.T, cfg httpapi.Config) (*httpapi.Server, *supervisor.Supervisor, string, chan struct{}) {
	t.Helper()
	sup := mustSupervisor(t)
	release := make(chan struct{})
	wait := func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	cfg.Supervisor = sup
	cfg.Entrypoint = func(ctx context.Context, req *httpapi.Request) (any, error) {
		switch string(req.Payload) {
		case `"panic"`:
			wait(ctx)
			panic("handler panics after a long turn")
		case `"stream"`:
			return httpapi.Stream(func(yield func(any, error) bool) {
				if yield("first", nil) {
					wait(ctx)
					yield("last", nil)
				}
			}), nil
		}
		wait(ctx)
		return "done", nil
	}
	cfg.WebSocket = func(ctx context.Context, conn *websocket.Conn, _ *httpapi.Request) error {
		_, _, err := conn.Read(ctx) // until the client closes
		return err
	}
	srv, addr := mustListen(t, cfg) // Serve, so that Shutdown cuts its requests
	return srv, sup, "http://" + addr, release
}

func waitStatus(t *testing.T, sup *supervisor.Supervisor, want supervisor.Status) {
	t.Helper()
	testkit.Eventually(t, "/ping to say "+want.String(), func() bool { return sup.PingStatus().Status == want })
}

// An invocation still open BusyAfter after it began counts as busy, and
// stops counting when it ends, whichever way it ends; it is no task.
func TestLongInvocationIsBusy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload string
		end     func(release chan struct{}, cancel context.CancelFunc)
	}{
		{"answered", `"plain"`, func(release chan struct{}, _ context.CancelFunc) { close(release) }},
		{"client left", `"plain"`, func(_ chan struct{}, cancel context.CancelFunc) { cancel() }},
		{"handler panicked", `"panic"`, func(release chan struct{}, _ context.CancelFunc) { close(release) }},
		{"stream ended", `"stream"`, func(release chan struct{}, _ context.CancelFunc) { close(release) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sup, base, release := longServer(t, httpapi.Config{BusyAfter: busyAfter})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() {
				defer close(done)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/invocations", strings.NewReader(tc.payload))
				if res, err := http.DefaultClient.Do(req); err == nil {
					_, _ = res.Body.Read(make([]byte, 1<<10)) // the stream's first event, or the answer
					<-ctx.Done()                              // the test ends the request
					res.Body.Close()
				}
			}()
			waitStatus(t, sup, supervisor.HealthyBusy)
			if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 {
				t.Fatalf("the long request counts as a task: %+v", info)
			}
			tree, err := sup.Tree(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if reqs := tree.Children[0].Children; len(reqs) != 1 || reqs[0].Request.Path != "/invocations" || reqs[0].Request.Method != "POST" {
				t.Fatalf("the tree's long requests: %+v", reqs)
			}
			tc.end(release, cancel)
			waitStatus(t, sup, supervisor.Healthy)
			cancel()
			<-done
		})
	}
}

// A WebSocket session open longer than BusyAfter is busy until it closes.
func TestLongWebSocketSessionIsBusy(t *testing.T) {
	_, sup, base, _ := longServer(t, httpapi.Config{BusyAfter: busyAfter})
	conn, _ := mustDialWebSocket(t, base)
	waitStatus(t, sup, supervisor.HealthyBusy)
	if err := conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitStatus(t, sup, supervisor.Healthy)
}

// A request shorter than BusyAfter never touches the status or its time;
// with BusyAfter negative nothing is ever held.
func TestShortOrUnheldRequestsChangeNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		busyAfter time.Duration
	}{
		{"shorter than BusyAfter", time.Hour},
		{"BusyAfter off", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sup, base, release := longServer(t, httpapi.Config{BusyAfter: tc.busyAfter})
			before := sup.PingStatus()
			done := make(chan answer, 1)
			go func() { done <- post(t, base, `"plain"`) }()
			// The request stays open past BusyAfter's 20 ms: what is checked is
			// that nothing happens, which only time can show.
			time.Sleep(5 * busyAfter)
			close(release)
			if a := <-done; a.status != http.StatusOK {
				t.Fatalf("invocation: %d %s", a.status, a.body)
			}
			if after := sup.PingStatus(); after != before {
				t.Fatalf("status moved from %+v to %+v", before, after)
			}
		})
	}
}

// A drain ends a long request, and with it the hold.
func TestDrainEndsLongRequest(t *testing.T) {
	srv, sup, base, _ := longServer(t, httpapi.Config{BusyAfter: busyAfter})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := http.Post(base+"/invocations", "application/json", strings.NewReader(`"plain"`)); err == nil {
			res.Body.Close()
		}
	}()
	waitStatus(t, sup, supervisor.HealthyBusy)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time for in-flight requests: they are cut
	_ = srv.Shutdown(ctx)
	waitStatus(t, sup, supervisor.Healthy)
	<-done
}
