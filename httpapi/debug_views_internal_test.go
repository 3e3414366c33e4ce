package httpapi

import (
	"testing"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// The projection's sentence in every state, at a fixed clock.
func TestProjectionSentence(t *testing.T) {
	at := func(hms string) time.Time {
		tm, err := time.Parse(time.DateTime, "2026-01-01 "+hms)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name           string
		status         supervisor.Status
		since          string // the status's last change
		lastInvocation string // "" for none
		now            string
		idleTimeout    time.Duration
		wantIdleSince  string // "" when not idle
		wantEndsAt     string
		wantSentence   string
	}{
		{
			name: "idle since the status changed", status: supervisor.Healthy,
			since: "14:13:48", now: "14:18:00", idleTimeout: 15 * time.Minute,
			wantIdleSince: "14:13:48", wantEndsAt: "14:28:48",
			wantSentence: "idle for 4m12s: with an idle timeout of 15m the platform ends this session at 14:28:48 UTC unless work starts",
		},
		{
			name: "a later invocation restarts the idle clock", status: supervisor.Healthy,
			since: "14:00:00", lastInvocation: "14:17:15", now: "14:18:00", idleTimeout: 15 * time.Minute,
			wantIdleSince: "14:17:15", wantEndsAt: "14:32:15",
			wantSentence: "idle for 45s: with an idle timeout of 15m the platform ends this session at 14:32:15 UTC unless work starts",
		},
		{
			name: "an earlier invocation does not", status: supervisor.Healthy,
			since: "14:17:00", lastInvocation: "14:10:00", now: "14:18:00", idleTimeout: 90 * time.Second,
			wantIdleSince: "14:17:00", wantEndsAt: "14:18:30",
			wantSentence: "idle for 1m: with an idle timeout of 1m30s the platform ends this session at 14:18:30 UTC unless work starts",
		},
		{
			name: "past the idle timeout", status: supervisor.Healthy,
			since: "12:00:00", now: "14:03:00", idleTimeout: time.Hour,
			wantIdleSince: "12:00:00", wantEndsAt: "13:00:00",
			wantSentence: "idle for 2h03m: with an idle timeout of 1h the platform would have ended this session at 13:00:00 UTC; " +
				"it is still running, so the platform's timeout is longer or no platform is watching",
		},
		{
			name: "busy", status: supervisor.HealthyBusy,
			since: "14:17:05", lastInvocation: "14:17:00", now: "14:18:00", idleTimeout: 15 * time.Minute,
			wantSentence: "busy since 14:17:05 UTC (55s ago): the platform keeps this session while /ping says HealthyBusy, up to its max lifetime",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := viewContext{now: at(tt.now), idleTimeout: tt.idleTimeout}
			if tt.lastInvocation != "" {
				v.lastInvocation = at(tt.lastInvocation)
			}
			p := project(tt.status, at(tt.since), v)
			if p.Sentence != tt.wantSentence {
				t.Errorf("sentence\n got %q\nwant %q", p.Sentence, tt.wantSentence)
			}
			if p.IdleTimeoutSeconds != tt.idleTimeout.Seconds() || !p.LastInvocation.Equal(v.lastInvocation) {
				t.Errorf("timeout %v s, last invocation %v", p.IdleTimeoutSeconds, p.LastInvocation)
			}
			if tt.wantIdleSince == "" {
				if !p.IdleSince.IsZero() || !p.EndsAt.IsZero() || p.IdleSeconds != nil {
					t.Errorf("busy, yet idle since %v, ends at %v", p.IdleSince, p.EndsAt)
				}
				return
			}
			idle := at(tt.now).Sub(at(tt.wantIdleSince)).Seconds()
			if !p.IdleSince.Equal(at(tt.wantIdleSince)) || !p.EndsAt.Equal(at(tt.wantEndsAt)) || p.IdleSeconds == nil || *p.IdleSeconds != idle {
				t.Errorf("idle since %v for %v s, ends at %v; want %s for %v s, %s", p.IdleSince, p.IdleSeconds, p.EndsAt, tt.wantIdleSince, idle, tt.wantEndsAt)
			}
		})
	}
}

func TestRoughDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                       "0s",
		0:                                  "0s",
		499 * time.Millisecond:             "0s",
		59 * time.Second:                   "59s",
		60 * time.Second:                   "1m",
		252 * time.Second:                  "4m12s",
		15 * time.Minute:                   "15m",
		time.Hour:                          "1h",
		2*time.Hour + 3*time.Minute + 59e9: "2h03m",
		8 * time.Hour:                      "8h",
	} {
		if got := roughDuration(d); got != want {
			t.Errorf("roughDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
