package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// maxSeconds bounds the seconds field: a day is longer than any session.
const maxSeconds = 86400

// seed is the reference's "Simple agent", with each task a supervised actor.
type seed struct {
	sup *supervisor.Supervisor
	log zerolog.Logger
}

func newSeed(sup *supervisor.Supervisor, log zerolog.Logger) *seed {
	return &seed{sup: sup, log: log.With().Str("component", "seed").Logger()}
}

// The seed's answers, fields in the reference's order.
type (
	processAnswer struct {
		Message string            `json:"message"`
		TaskID  supervisor.TaskID `json:"task_id"`
		Status  string            `json:"status"`
	}
	cleanupAnswer struct {
		Message string            `json:"message"`
		TaskID  supervisor.TaskID `json:"task_id"`
	}
	statusAnswer struct {
		PingStatus  string               `json:"ping_status"`
		ActiveTasks int                  `json:"active_tasks"`
		RunningJobs []httpapi.RunningJob `json:"running_jobs"`
	}
	infoAnswer struct {
		Message          string   `json:"message"`
		AvailableActions []string `json:"available_actions"`
		Usage            string   `json:"usage"`
	}
)

var info = infoAnswer{
	Message:          "Simple BedrockAgentCore Agent",
	AvailableActions: []string{"process", "cleanup", "status"},
	Usage:            "Send {'action': 'process', 'data_id': 'my_data'}",
}

// invoke is the entrypoint. Unlike the reference, a payload that is not an
// object gets the info answer rather than a 500.
func (s *seed) invoke(_ context.Context, req *httpapi.Request) (any, error) {
	// A map, not a struct: encoding/json matches struct fields ignoring case.
	var fields map[string]json.RawMessage
	if json.Unmarshal(req.Payload, &fields) != nil {
		return info, nil
	}
	var action string
	_ = json.Unmarshal(fields["action"], &action) // a missing or non-string action is no action
	switch action {
	case "process":
		return s.process(fields)
	case "cleanup":
		return s.cleanup(fields)
	case "status":
		return s.status(), nil
	}
	return info, nil
}

func (s *seed) process(fields map[string]json.RawMessage) (any, error) {
	d, err := seconds(fields, 30*time.Second)
	if err != nil {
		return nil, err
	}
	dataID := "default_data"
	if raw, ok := fields["data_id"]; ok && json.Unmarshal(raw, &dataID) != nil {
		dataID = string(raw) // not a string: shown as its JSON
	}
	id, err := s.sup.Go("data_processing", map[string]any{"data_id": dataID}, s.work(d, "processing data "+dataID))
	if err != nil {
		return nil, fmt.Errorf("start processing %s: %w", dataID, err)
	}
	return processAnswer{Message: "Started processing " + dataID, TaskID: id, Status: "processing"}, nil
}

func (s *seed) cleanup(fields map[string]json.RawMessage) (any, error) {
	d, err := seconds(fields, 10*time.Second)
	if err != nil {
		return nil, err
	}
	id, err := s.sup.Go("cleanup", map[string]any{}, s.work(d, "cleanup"))
	if err != nil {
		return nil, fmt.Errorf("start cleanup: %w", err)
	}
	return cleanupAnswer{Message: "Started cleanup", TaskID: id}, nil
}

func (s *seed) status() statusAnswer {
	jobs := httpapi.NewJobStatus(s.sup.AsyncTaskInfo())
	return statusAnswer{
		PingStatus:  s.sup.PingStatus().Status.String(),
		ActiveTasks: jobs.ActiveCount,
		RunningJobs: jobs.RunningJobs,
	}
}

// work is a task that stands for d of work, stopping early if cancelled.
func (s *seed) work(d time.Duration, what string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		s.log.Info().Str("work", what).Dur("for", d).Msg("started")
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			s.log.Info().Str("work", what).Msg("completed")
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// seconds reads the optional "seconds" field, a JSON number of seconds in
// [0, maxSeconds] that overrides a task's duration.
func seconds(fields map[string]json.RawMessage, def time.Duration) (time.Duration, error) {
	raw, ok := fields["seconds"]
	if !ok {
		return def, nil
	}
	// Decoded into any, not json.Number: a json.Number also takes a string
	// holding a number ("2"), and null as "".
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v) // raw is valid JSON: it came out of the payload
	n, _ := v.(json.Number)
	f, err := n.Float64()
	if err != nil || f < 0 || f > maxSeconds {
		return 0, badSeconds()
	}
	return time.Duration(f * float64(time.Second)), nil
}

func badSeconds() error {
	return httpapi.Errorf(http.StatusBadRequest, "seconds must be a JSON number from 0 to %d", maxSeconds)
}
