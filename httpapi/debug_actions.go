package httpapi

// The contract's debug actions: with debug mode on, a POST /invocations
// whose payload has a truthy "_agent_core_app_action" ("app actions", after
// the key) is answered here, before the entrypoint, as the reference answers
// it. The /debug/ endpoints, this project's own, are in debug_endpoints.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rs/zerolog/hlog"

	"github.com/agentvisor/agentvisor/supervisor"
)

// appActionKey is the payload key of the reference's debug actions.
const appActionKey = "_agent_core_app_action"

// JobStatus is the reference's get_async_task_info() answer:
// {"active_count": n, "running_jobs": [{"name": "...", "duration": 1.25}]}.
type JobStatus struct {
	// ActiveCount is how many tasks are tracked.
	ActiveCount int `json:"active_count"`
	// RunningJobs are the tracked tasks in start order; never nil, so that
	// it encodes as [].
	RunningJobs []RunningJob `json:"running_jobs"`
}

// RunningJob is one tracked task in a JobStatus.
type RunningJob struct {
	// Name is the task's name.
	Name string `json:"name"`
	// DurationSeconds is how long the task has run, in seconds.
	DurationSeconds float64 `json:"duration"`
}

// NewJobStatus converts the supervisor's task info to the contract's shape.
func NewJobStatus(info supervisor.TaskInfo) JobStatus {
	jobs := make([]RunningJob, 0, len(info.RunningJobs))
	for _, j := range info.RunningJobs {
		jobs = append(jobs, RunningJob{Name: j.Name, DurationSeconds: j.Duration.Seconds()})
	}
	return JobStatus{ActiveCount: info.ActiveCount, RunningJobs: jobs}
}

// pingStatus is the ping_status action's answer, the same as /ping.
type pingStatus struct {
	Status           string `json:"status"`
	TimeOfLastUpdate int64  `json:"time_of_last_update"`
}

type forcedStatus struct {
	ForcedStatus string `json:"forced_status"`
}

// parseAppAction returns the action of a JSON object payload whose
// "_agent_core_app_action" is truthy in Python's sense.
func parseAppAction(payload json.RawMessage) (json.RawMessage, bool) {
	if t := bytes.TrimLeft(payload, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	// A map, not a struct: encoding/json matches struct fields ignoring
	// case, and Python's dict does not.
	var fields map[string]json.RawMessage
	if json.Unmarshal(payload, &fields) != nil {
		return nil, false
	}
	action, ok := fields[appActionKey]
	return action, ok && truthy(action)
}

// truthy applies Python's truth test to a JSON value.
func truthy(v json.RawMessage) bool {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch x := x.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// serveAppAction answers a debug action with compact JSON, as the
// reference does. The actions go through the supervisor's API.
func (s *Server) serveAppAction(w http.ResponseWriter, r *http.Request, action json.RawMessage) {
	var name string
	if json.Unmarshal(action, &name) != nil {
		name = pyStr(action)
	}
	hlog.FromRequest(r).Info().Str("action", name).Msg("debug action")
	var answer any
	var err error
	switch name {
	case "ping_status":
		p := s.sup.PingStatus()
		answer = pingStatus{Status: p.Status.String(), TimeOfLastUpdate: p.Since.Unix()}
	case "job_status":
		answer = NewJobStatus(s.sup.AsyncTaskInfo())
	case "force_healthy":
		answer, err = forcedStatus{supervisor.Healthy.String()}, s.sup.ForcePingStatus(supervisor.Healthy)
	case "force_busy":
		answer, err = forcedStatus{supervisor.HealthyBusy.String()}, s.sup.ForcePingStatus(supervisor.HealthyBusy)
	case "clear_forced_status":
		answer, err = forcedStatus{"Cleared"}, s.sup.ClearForcedPingStatus()
	default:
		writeError(w, r, &unknownActionError{action: name})
		return
	}
	if err != nil {
		writeError(w, r, fmt.Errorf("action %s: %w", name, withDetails(ErrActionFailed, err.Error())))
		return
	}
	body, err := MarshalCompact(answer)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// pyStr writes a non-string JSON value roughly as Python's str() would in an
// error message: True for true, numbers as Python prints them, containers
// spaced (Python would also quote strings inside them with ').
func pyStr(v json.RawMessage) string {
	t := bytes.TrimSpace(v)
	if bytes.Equal(t, []byte("true")) {
		return "True"
	}
	return string(reformat(t, true))
}
