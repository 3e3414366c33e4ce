package httpapi_test

import (
	"context"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// /debug/actors says when the platform ends the session: idle, from the
// later of the last status change and the last invocation, for
// SessionIdleTimeout; busy, held.
func TestDebugIdleProjection(t *testing.T) {
	sup := mustSupervisor(t)
	_, base := mustServe(t, httpapi.Config{Supervisor: sup, Debug: true, SessionIdleTimeout: 2 * time.Minute,
		Entrypoint: func(context.Context, *httpapi.Request) (any, error) { return "ok", nil }})
	status := func() *statusJSON { return child(t, getTree(t, base, "").nodeJSON, "status").Status }
	idle := regexp.MustCompile(`^idle for \d+s: with an idle timeout of 2m the platform ends this session at (\d\d:\d\d:\d\d) UTC unless work starts$`)
	checkIdle := func(s *statusJSON, wantSince time.Time) {
		t.Helper()
		p := s.Projection
		m := idle.FindStringSubmatch(p.Sentence)
		if p.IdleTimeoutSeconds != 120 || !p.IdleSince.Equal(wantSince) || !p.EndsAt.Equal(wantSince.Add(2*time.Minute)) ||
			p.IdleSeconds == nil || m == nil || m[1] != p.EndsAt.UTC().Format(time.TimeOnly) {
			t.Fatalf("projection %+v, want idle since %v", p, wantSince)
		}
	}

	s := status()
	if !s.Projection.LastInvocation.IsZero() {
		t.Fatalf("no invocation yet, but last_invocation %v", s.Projection.LastInvocation)
	}
	checkIdle(s, s.Since)

	before := time.Now()
	if got := post(t, base, `{"prompt": "hi"}`); got.status != http.StatusOK {
		t.Fatalf("invocation: %d %s", got.status, got.body)
	}
	after := time.Now()
	s = status()
	last := s.Projection.LastInvocation
	if last.Before(before) || last.After(after) || s.Since.After(before) {
		t.Fatalf("last invocation %v, want from %v to %v (status since %v)", last, before, after, s.Since)
	}
	checkIdle(s, last) // the invocation restarted the idle clock; the status did not move

	if err := sup.ForcePingStatus(supervisor.HealthyBusy); err != nil {
		t.Fatal(err)
	}
	s = status()
	p := s.Projection
	want := "busy since " + s.Since.UTC().Format(time.TimeOnly) + " UTC ("
	if !strings.HasPrefix(p.Sentence, want) || !strings.HasSuffix(p.Sentence, " ago): the platform keeps this session while /ping says HealthyBusy, up to its max lifetime") ||
		!p.IdleSince.IsZero() || !p.EndsAt.IsZero() || p.IdleSeconds != nil || !p.LastInvocation.Equal(last) {
		t.Fatalf("busy projection %+v, want a sentence starting %q", p, want)
	}
	if h := s.History; len(h) != 1 || h[0].From != "Healthy" || h[0].To != "HealthyBusy" || h[0].Why != "forced" {
		t.Fatalf("history %+v", h)
	}
}

// Without any platform watching, an idle timeout long past says so.
func TestDebugIdleProjectionPast(t *testing.T) {
	_, base := mustServe(t, httpapi.Config{Supervisor: mustSupervisor(t), Debug: true, SessionIdleTimeout: time.Nanosecond})
	p := child(t, getTree(t, base, "").nodeJSON, "status").Status.Projection
	if !strings.Contains(p.Sentence, "the platform would have ended this session at") || !p.EndsAt.Before(time.Now()) {
		t.Fatalf("projection %+v", p)
	}
}

// A long request is in the tree under the status actor, with what answers
// "why is it busy?": method, path, session id, request id and age.
func TestDebugLongRequestNode(t *testing.T) {
	_, sup, base, release := longServer(t, httpapi.Config{BusyAfter: busyAfter, Debug: true})
	done := make(chan answer, 1)
	const session = "session-0123456789-0123456789-0123456789"
	header := http.Header{}
	header.Set(httpapi.HeaderSessionID, session)
	header.Set(httpapi.HeaderRequestID, "req-42")
	go func() { done <- do(t, http.MethodPost, base+"/invocations", `"plain"`, header) }()
	waitStatus(t, sup, supervisor.HealthyBusy)
	status := child(t, getTree(t, base, "").nodeJSON, "status")
	close(release)
	if a := <-done; a.status != http.StatusOK {
		t.Fatalf("invocation: %d %s", a.status, a.body)
	}
	if len(status.Children) != 1 {
		t.Fatalf("status node's children %+v, want the long request", status.Children)
	}
	n := status.Children[0]
	r := n.Request
	if n.Kind != "request" || n.State != "open" || r == nil || r.Method != "POST" || r.Path != "/invocations" ||
		r.SessionID != session || r.RequestID != "req-42" || r.ID == 0 || r.Started.IsZero() {
		t.Fatalf("request node %+v %+v", n, r)
	}
	// Held BusyAfter after it arrived: open that much longer than held.
	if r.AgeSeconds < 0 || math.Abs(r.OpenSeconds-r.AgeSeconds-busyAfter.Seconds()) > 1e-6 {
		t.Fatalf("held %v s, open %v s; want open = held + %v", r.AgeSeconds, r.OpenSeconds, busyAfter)
	}
	if h := status.Status.History; len(h) == 0 || h[len(h)-1].Why != "long_request" {
		t.Fatalf("history %+v, want a long_request change last", h)
	}
}
