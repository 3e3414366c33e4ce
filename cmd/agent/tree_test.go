package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// normalise replaces what changes from run to run (the actor system's id,
// task ids, durations) so that output can be compared with a golden file.
func normalise(s string) string {
	for _, r := range []struct{ re, with string }{
		{`(?m)^system \S+ `, "system <system-id> "},
		{`#\d+`, "#<id>"},
		{`task-\d+`, "task-<id>"},
		{`\b\d+\.\ds\b|\b\d+m\d\ds\b|\b\d+h\d\dm\b|\b\d+s\b`, "<duration>"},
		{`\b\d\d:\d\d:\d\d UTC\b`, "<time> UTC"},
	} {
		s = regexp.MustCompile(r.re).ReplaceAllString(s, r.with)
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/agent -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Fatalf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// tree runs `agent tree args...` and returns its output and error.
func tree(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, append([]string{"tree"}, args...), func(string) string { return "" }, &out, io.Discard)
	return out.String(), err
}

// TestTreeGolden prints the tree of a live agent in debug mode, with two
// tasks and a forced status.
func TestTreeGolden(t *testing.T) {
	p := mustRun(t, "-debug", "-drain-timeout", "50ms")
	for _, body := range []string{
		`{"action": "process", "data_id": "sample_data", "seconds": 3600}`,
		`{"action": "cleanup", "seconds": 3600}`,
		`{"_agent_core_app_action": "force_busy"}`,
	} {
		if status, answer := p.curl(t, "POST", "/invocations", body); status != 200 {
			t.Fatalf("%s: %d %s", body, status, answer)
		}
	}
	out, err := tree(context.Background(), "-addr", p.base)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tree.golden", normalise(out))

	t.Run("json", func(t *testing.T) {
		out, err := tree(context.Background(), "-addr", strings.TrimPrefix(p.base, "http://"), "-json")
		if err != nil {
			t.Fatal(err)
		}
		var doc treeDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || !strings.HasSuffix(out, "}\n") {
			t.Fatalf("not one JSON document: %v\n%s", err, out)
		}
		if doc.Kind != "system" || len(doc.Children) != 2 || len(doc.Children[1].Children) != 2 {
			t.Fatalf("not the tree: %s", out)
		}
	})
	t.Run("one task per page", func(t *testing.T) {
		out, err := tree(context.Background(), "-addr", p.base, "-limit", "1", "-offset", "1")
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "tree_page.golden", normalise(out))
	})
}

func TestTreeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	debugOff := mustRun(t)
	tests := []struct {
		name    string
		args    []string
		wantErr error
		wantMsg string // a substring of the error
	}{
		{"unreachable", []string{"-addr", closedAddr}, errUnreachable, "(is it running?)"},
		{"debug mode off", []string{"-addr", debugOff.base}, errDebugOff, "debug mode is off: start the agent with -debug or AGENT_DEBUG=1"},
		{"not http", []string{"-addr", "ftp://127.0.0.1:1"}, errUsage, "want a URL"},
		{"stray argument", []string{"now"}, errUsage, "unexpected arguments"},
		{"negative limit", []string{"-limit", "-1"}, errUsage, "-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tree(context.Background(), tt.args...)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("got %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		out, err := tree(context.Background(), "-h")
		if err != nil || !strings.Contains(out, "usage: agent tree") || !strings.Contains(out, "-watch") {
			t.Fatalf("got %v\n%s", err, out)
		}
	})
}

// frameCounter cancels a watch once it has drawn the frames wanted.
type frameCounter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	frames int
	want   int
	stop   context.CancelFunc
}

func (f *frameCounter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames++
	if f.frames == f.want {
		f.stop()
	}
	return f.buf.Write(p)
}

func TestTreeWatch(t *testing.T) {
	p := mustRun(t, "-debug")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name      string
		args      []string
		wantFrame string // in every frame
		wantClear bool   // frames start by clearing the screen
	}{
		{"text", []string{"-addr", p.base}, "└─task_supervisor tasks running: 0 live tasks, 0 busy\n", true},
		{"json", []string{"-addr", p.base, "-json"}, `"kind":"task_supervisor"`, false},
		{"an agent that went away is watched on", []string{"-addr", closedAddr}, "agent tree: cannot reach the agent", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &frameCounter{want: 3, stop: cancel}
			args := append([]string{"tree", "-watch", "-interval", "1ms"}, tt.args...)
			if err := run(ctx, args, func(string) string { return "" }, out, io.Discard); err != nil {
				t.Fatalf("an interrupted watch returns nil, got %v", err)
			}
			text := out.buf.String()
			if out.frames != 3 || strings.Count(text, tt.wantFrame) != 3 || (strings.Count(text, clearScreen) == 3) != tt.wantClear {
				t.Fatalf("%d frames:\n%q", out.frames, text)
			}
		})
	}
}

func TestFormatTree(t *testing.T) {
	// A tree in every shape the agent sends, at a fixed "now".
	const body = `{"now":"2026-01-01T00:01:00Z","kind":"system","pid":"sys1","state":"running","panics":{"task":2,"handler":1},"children":[
	 {"kind":"status","pid":"status","state":"running","status":{"status":"HealthyBusy","since":"2026-01-01T00:00:00Z",
	  "forced":"HealthyBusy","custom":"Healthy","active_count":3,"time_of_last_update":1767225600,"age_seconds":60,
	  "history":[{"at":"2026-01-01T00:00:00Z","from":"Healthy","to":"HealthyBusy","why":"forced"}],
	  "projection":{"idle_timeout_seconds":900,"sentence":"busy since 00:00:00 UTC (1m ago): the platform keeps this session"}},
	  "children":[
	   {"kind":"request","pid":"status/request-1","state":"open","request":{"id":1,"method":"POST","path":"/invocations",
	    "session_id":"s-1","request_id":"r-1","started":"2026-01-01T00:00:48Z","age_seconds":12,"open_seconds":22}},
	   {"kind":"request","pid":"status/request-2","state":"open","request":{"id":2,"method":"GET","path":"/ws",
	    "started":"2026-01-01T00:00:00Z","age_seconds":60,"open_seconds":70}}]},
	 {"kind":"task_supervisor","pid":"tasks","state":"running","draining":true,"limits":{"max_tasks":9,"active":5},
	  "task_counts":{"total":7,"busy":5,"by_state":{"running":4,"abandoned":1,"backing_off":1,"stopping":1}},
	  "page":{"offset":2,"limit":3},"children":[
	   {"kind":"task","pid":"tasks/task-3","state":"backing_off","task":{"task_id":3,"name":"fetch","metadata":{"url":"s3://b/k"},
	    "manual":false,"state":"backing_off","started":"2026-01-01T00:00:00Z","restarts":2,"last_error":"reset by peer",
	    "deadline":"2026-01-01T00:01:30Z","duration_seconds":60,"busy":true}},
	   {"kind":"task","pid":"tasks/task-4","state":"abandoned","task":{"task_id":4,"name":"stubborn","metadata":null,
	    "manual":false,"state":"abandoned","started":"2026-01-01T00:00:00Z","restarts":1,"deadline":"2026-01-01T00:00:50Z",
	    "duration_seconds":3725,"busy":false}},
	   {"kind":"task","pid":"tasks/task-5","state":"running","task":{"task_id":5,"name":"upload","metadata":{},
	    "manual":true,"state":"running","started":"2026-01-01T00:00:00Z","restarts":0,"duration_seconds":0.25,"busy":true,
	    "progress":{"fraction":0.425,"note":"part 17/40","at":"2026-01-01T00:00:59Z"},"heartbeat":"2026-01-01T00:00:59Z"}}
	  ]},
	 {"kind":"mailbox_monitor","pid":"mon","state":"idle"}
	]}`
	want := `busy since 00:00:00 UTC (1m ago): the platform keeps this session
system sys1 running: recovered panics: handler 1, task 2
├─status status running: HealthyBusy for 1m00s, 3 active, forced HealthyBusy, custom Healthy
│ ├─request status/request-1 open: POST /invocations open 22.0s, busy 12.0s, session s-1, request r-1
│ └─request status/request-2 open: GET /ws open 1m10s, busy 1m00s
├─task_supervisor tasks running: 7 live tasks, 5 busy (abandoned 1, backing_off 1, running 4, stopping 1), draining, limits {"max_tasks":9,"active":5}
│ ├─… 2 earlier tasks (-offset 0)
│ ├─task tasks/task-3 backing_off: #3 fetch 1m00s, 2 restarts, last error "reset by peer", deadline in 30.0s {"url":"s3://b/k"}
│ ├─task tasks/task-4 abandoned: #4 stubborn 1h02m, not busy, 1 restart, deadline passed 10.0s ago
│ ├─task tasks/task-5 running: #5 upload 0.2s, manual, 42% part 17/40
│ └─… 2 more tasks (-offset 5)
└─mailbox_monitor mon idle
`
	got, err := formatTree([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if _, err := formatTree([]byte(`<html>`)); !errors.Is(err, errTreeRefused) {
		t.Fatalf("not JSON: %v", err)
	}
}
