package httpapi_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// TestAppActions pins the contract's debug actions byte for byte, refusals
// included.
func TestAppActions(t *testing.T) {
	_, base := mustDebugServer(t)
	tests := []struct {
		name       string
		payload    string
		wantStatus int
		wantBody   string // a regexp of the whole body
	}{
		{"ping_status", `{"_agent_core_app_action": "ping_status"}`, 200, `^\{"status":"Healthy","time_of_last_update":[0-9]+\}$`},
		{"job_status", `{"_agent_core_app_action": "job_status"}`, 200, `^\{"active_count":0,"running_jobs":\[\]\}$`},
		{"force_busy", `{"_agent_core_app_action": "force_busy"}`, 200, `^\{"forced_status":"HealthyBusy"\}$`},
		{"force_healthy", `{"_agent_core_app_action": "force_healthy"}`, 200, `^\{"forced_status":"Healthy"\}$`},
		{"clear_forced_status", `{"_agent_core_app_action": "clear_forced_status"}`, 200, `^\{"forced_status":"Cleared"\}$`},
		{"unknown name", `{"_agent_core_app_action": "nope"}`, 400, `^\{"error":"Unknown action: nope"\}$`},
		{"true, as Python writes it", `{"_agent_core_app_action": true}`, 400, `^\{"error":"Unknown action: True"\}$`},
		{"a number", `{"_agent_core_app_action": 1.5}`, 400, `^\{"error":"Unknown action: 1\.5"\}$`},
		{"a list", `{"_agent_core_app_action": [0, "a"]}`, 400, `^\{"error":"Unknown action: \[0, \\"a\\"\]"\}$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := post(t, base, tt.payload)
			if got.status != tt.wantStatus || !regexp.MustCompile(tt.wantBody).MatchString(got.body) {
				t.Fatalf("got %d %s, want %d %s", got.status, got.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// An action the supervisor refuses (it has shut down) is a 500 that says so.
func TestAppActionFailed(t *testing.T) {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, base := mustServe(t, httpapi.Config{Supervisor: sup, Debug: true})
	if err := sup.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := post(t, base, `{"_agent_core_app_action": "force_busy"}`)
	if want := `^\{"error":"Debug action failed","details":"[^"]+"\}$`; got.status != 500 || !regexp.MustCompile(want).MatchString(got.body) {
		t.Fatalf("got %d %s, want 500 %s", got.status, got.body, want)
	}
}
