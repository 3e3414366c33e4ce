package supervisor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// A request held as busy makes /ping HealthyBusy, with the time of that
// change, shows in the tree under the status actor and is no task; released
// (twice, harmlessly), the agent is Healthy again, and the history says why
// each change happened.
func TestHoldBusy(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		sup, _ := mustNew(t, supervisor.Config{})
		time.Sleep(time.Second)
		release := sup.HoldBusy(supervisor.OpenRequest{Method: "POST", Path: "/invocations", SessionID: "s-1", RequestID: "r-1"})
		held := sup.PingStatus()
		if held.Status != supervisor.HealthyBusy || !held.Since.Equal(time.Now()) {
			t.Fatalf("held: %+v, want HealthyBusy since now", held)
		}
		if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 {
			t.Fatalf("a held request counts as a task: %+v", info)
		}
		tree, err := sup.Tree(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		status := tree.Children[0]
		if len(status.Children) != 1 || status.Children[0].Kind != supervisor.KindRequest {
			t.Fatalf("status node children %+v, want one request", status.Children)
		}
		if r := status.Children[0].Request; r.Method != "POST" || r.Path != "/invocations" || r.SessionID != "s-1" || r.RequestID != "r-1" || r.ID == 0 {
			t.Fatalf("request node %+v", r)
		}
		time.Sleep(time.Second)
		release()
		release()
		synctest.Wait()
		if p := sup.PingStatus(); p.Status != supervisor.Healthy || !p.Since.Equal(time.Now()) {
			t.Fatalf("released: %+v, want Healthy since now", p)
		}
		tree, _ = sup.Tree(context.Background())
		history := tree.Children[0].Status.History
		if len(history) != 2 || history[0].Why != "long_request" || history[1].Why != "long_request_ended" ||
			history[0].To != supervisor.HealthyBusy || history[1].To != supervisor.Healthy {
			t.Fatalf("history %+v, want busy for a long request, then healthy when it ended", history)
		}
	})
}

// A hold after Shutdown holds nothing (the last status stays), and its
// release is harmless.
func TestHoldBusyAfterShutdown(t *testing.T) {
	sup, logs := mustNew(t, supervisor.Config{})
	if err := sup.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := sup.HoldBusy(supervisor.OpenRequest{Path: "/ws"})
	release()
	if p := sup.PingStatus(); p.Status != supervisor.Healthy {
		t.Fatalf("after a hold past Shutdown: %s, want Healthy", p.Status)
	}
	if len(logs.find(t, "long request not held as busy", 0)) != 1 {
		t.Fatal("the refused hold was not logged")
	}
}
