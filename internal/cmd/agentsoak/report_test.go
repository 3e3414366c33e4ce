package main

import (
	"errors"
	"testing"
	"time"
)

func TestVerdict(t *testing.T) {
	tests := []struct {
		name string
		r    report
		ok   bool
	}{
		{"clean", report{final: "Healthy"}, true},
		{"errors", report{final: "Healthy", load: loadResults{errors: map[string]int{"ping: EOF": 1}}}, false},
		{"stuck busy", report{final: "HealthyBusy"}, false},
		{"unclean exit", report{final: "Healthy", exit: errors.New("exit status 1")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.verdict()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, errSoakFailed)) {
				t.Fatalf("verdict %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestPingPercentiles(t *testing.T) {
	l := newLoad("http://127.0.0.1:1", 1)
	for i := 100; i >= 1; i-- {
		l.pingLat = append(l.pingLat, time.Duration(i)*time.Millisecond)
	}
	r := l.results()
	if r.pings != 100 || r.pingP50 != 51*time.Millisecond || r.pingP99 != 100*time.Millisecond || r.pingMax != 100*time.Millisecond {
		t.Fatalf("results %+v", r)
	}
}
