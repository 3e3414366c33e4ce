package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The idle timeout the debug views assume: seconds as the runtime's
// lifecycleConfiguration gives them, or a duration; the flag wins over
// AGENT_IDLE_TIMEOUT.
func TestIdleTimeoutFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string // AGENT_IDLE_TIMEOUT
		want    time.Duration
		wantErr bool
	}{
		{"default, the platform's", nil, "", 900 * time.Second, false},
		{"env in seconds", nil, "300", 5 * time.Minute, false},
		{"env as a duration", nil, "1h", time.Hour, false},
		{"flag beats env", []string{"-idle-timeout", "60"}, "300", time.Minute, false},
		{"zero", []string{"-idle-timeout", "0"}, "", 0, true},
		{"negative", []string{"-idle-timeout", "-5m"}, "", 0, true},
		{"not a time", nil, "soon", 0, true},
		{"too many seconds", []string{"-idle-timeout", "99999999999999999"}, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AGENT_IDLE_TIMEOUT": tt.env}
			got, err := parseConfig(tt.args, func(k string) string { return env[k] }, io.Discard)
			if tt.wantErr {
				if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-idle-timeout") {
					t.Fatalf("got %v, want a usage error naming -idle-timeout", err)
				}
				return
			}
			if err != nil || got.idleTimeout != tt.want {
				t.Fatalf("got %v, %v; want %v", got.idleTimeout, err, tt.want)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "-idle-timeout") || !strings.Contains(out.String(), "AGENT_IDLE_TIMEOUT") {
			t.Fatalf("usage lacks -idle-timeout: %s", out.String())
		}
	})
}

// `agent tree` says when the platform ends an idle session: the agent's
// -idle-timeout after its last invocation.
func TestTreeSaysWhenIdleSessionEnds(t *testing.T) {
	p := mustRun(t, "-debug", "-idle-timeout", "90")
	before := time.Now().UTC().Truncate(time.Second)
	if status, answer := p.curl(t, "POST", "/invocations", `{"action": "status"}`); status != 200 {
		t.Fatalf("status: %d %s", status, answer)
	}
	after := time.Now().UTC()
	out, err := tree(context.Background(), "-addr", p.base)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^idle for \d+s: with an idle timeout of 1m30s the platform ends this session at (\d\d:\d\d:\d\d) UTC unless work starts\nsystem `)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no idle sentence first:\n%s", out)
	}
	var want []string // the clock times the invocation's arrival + 90 s can show
	for at := before.Add(90 * time.Second); !at.After(after.Add(90 * time.Second)); at = at.Add(time.Second) {
		want = append(want, at.Format(time.TimeOnly))
	}
	if !slices.Contains(want, m[1]) {
		t.Fatalf("ends at %s, want the invocation's arrival + 90 s: one of %q", m[1], want)
	}
}
