package platform

import (
	"testing"
	"time"
)

func TestParsePing(t *testing.T) {
	tests := []struct {
		body    string
		status  string // want, when no error
		stamped bool   // want: time_of_last_update counts
		wantErr bool
	}{
		{`{"status":"Healthy","time_of_last_update":1795314779}`, "Healthy", true, false},
		{`{"status":"HealthyBusy","time_of_last_update":1795314779}`, "HealthyBusy", true, false},
		{`{"status":"HealthyBusy"}`, "HealthyBusy", false, false},                                              // omitted: SDK #471
		{`{"status":"HealthyBusy","time_of_last_update":"2026-06-01T10:00:00Z"}`, "HealthyBusy", false, false}, // ISO: TS SDK #129
		{`{"status":"HealthyBusy","time_of_last_update":1795314779.0}`, "HealthyBusy", false, false},           // a float is not an integer
		{`{"status":"HealthyBusy","time_of_last_update":1.7e9}`, "HealthyBusy", false, false},
		{`{"status":"HealthyBusy","time_of_last_update":null}`, "HealthyBusy", false, false},
		{`{"status":"Healthy","time_of_last_update": 1795314779 }`, "Healthy", true, false},
		{`{"status":1}`, "", false, true},
		{`{"time_of_last_update":1795314779}`, "", false, true},
		{`Healthy`, "", false, true},
		{``, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			a, err := parsePing([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if a.Status != tt.status || a.Stamped != tt.stamped {
				t.Errorf("got %q stamped %v, want %q stamped %v", a.Status, a.Stamped, tt.status, tt.stamped)
			}
			if a.Stamped && a.Updated.Unix() != 1795314779 {
				t.Errorf("time %v", a.Updated)
			}
		})
	}
}

// FuzzParsePing: no body panics, and a stamped answer's time is the
// integer written.
func FuzzParsePing(f *testing.F) {
	f.Add([]byte(`{"status":"Healthy","time_of_last_update":1795314779}`))
	f.Add([]byte(`{"status":"HealthyBusy","time_of_last_update":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parsePing(body)
		if err == nil && a.Stamped && a.Raw == "" {
			t.Errorf("stamped without a time: %q", body)
		}
	})
}

func TestIdleClock(t *testing.T) {
	inv := time.Unix(1000, 0)
	tests := []struct {
		name     string
		last     pingAnswer
		answered bool
		from     time.Time
		held     bool
	}{
		{"before the first ping: the invocation", pingAnswer{}, false, inv, false},
		{"Healthy, older time: the invocation", pingAnswer{Status: "Healthy", Updated: time.Unix(900, 0), Stamped: true}, true, inv, false},
		{"Healthy, newer time: that time", pingAnswer{Status: "Healthy", Updated: time.Unix(1100, 0), Stamped: true}, true, time.Unix(1100, 0), false},
		{"HealthyBusy with a time: held", pingAnswer{Status: "HealthyBusy", Updated: time.Unix(900, 0), Stamped: true}, true, time.Time{}, true},
		{"HealthyBusy without: the invocation", pingAnswer{Status: "HealthyBusy"}, true, inv, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, held := idleClock(inv, tt.last, tt.answered)
			if !from.Equal(tt.from) || held != tt.held {
				t.Errorf("got %v held %v, want %v held %v", from, held, tt.from, tt.held)
			}
		})
	}
}
