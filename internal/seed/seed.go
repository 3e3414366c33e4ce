// Package seed is the reference SDK's "Simple agent", from its
// async-processing example, with each task a supervised actor: the actions
// process, cleanup and status, and result, which reads a task's outcome.
// The seed agent (cmd/agent) is this and nothing else; the kitchensink
// (examples/kitchensink) adds its own actions beside these.
package seed

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// Agent runs the seed's actions on a supervisor.
type Agent struct {
	sup *supervisor.Supervisor
	log zerolog.Logger
}

// New returns the seed's actions, logging under component=seed.
func New(sup *supervisor.Supervisor, log zerolog.Logger) *Agent {
	return &Agent{sup: sup, log: log.With().Str("component", "seed").Logger()}
}

// The answers, fields in the reference's order.
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
	// resultAnswer is one task: its state while it runs (running,
	// backing_off...), its outcome once over (succeeded, failed,
	// timed_out...), with its result or error.
	resultAnswer struct {
		TaskID   supervisor.TaskID        `json:"task_id"`
		Name     string                   `json:"name"`
		State    string                   `json:"state"`
		Done     bool                     `json:"done"`
		Progress *supervisor.TaskProgress `json:"progress,omitempty"`
		Result   any                      `json:"result,omitempty"`
		Error    string                   `json:"error,omitempty"`
	}
	// processed is what a process task returns.
	processed struct {
		DataID  any     `json:"data_id"`
		Seconds float64 `json:"seconds"`
	}
)

// Info is the answer to a payload without a known action.
var Info = infoAnswer{
	Message:          "Simple BedrockAgentCore Agent",
	AvailableActions: []string{"process", "cleanup", "status"}, // the reference's; result is ours
	Usage:            "Send {'action': 'process', 'data_id': 'my_data'}",
}

// Invoke is the seed agent's entrypoint. Unlike the reference, a payload
// that is not an object gets the info answer rather than a 500.
func (a *Agent) Invoke(ctx context.Context, req *httpapi.Request) (any, error) {
	p := ParsePayload(req.Payload)
	switch p.Action() {
	case "process":
		return a.Process(ctx, p)
	case "cleanup":
		return a.Cleanup(ctx, p)
	case "status":
		return a.Status(), nil
	case "result":
		return a.Result(p)
	}
	return Info, nil
}

// Process starts data_processing: data_id (default "default_data") for
// seconds (default 30); ctx is the invocation's, which its spans link to.
func (a *Agent) Process(ctx context.Context, p Payload) (any, error) {
	d, _, err := p.Seconds(30)
	if err != nil {
		return nil, err
	}
	dataID := p.Value("data_id", "default_data")
	what := "processing data " + display(dataID)
	id, err := supervisor.GoResult(a.sup, "data_processing", map[string]any{"data_id": dataID}, func(ctx context.Context) (processed, error) {
		return processed{DataID: dataID, Seconds: d.Seconds()}, a.work(ctx, d, what)
	}, supervisor.StartedBy(ctx))
	if err != nil {
		return nil, fmt.Errorf("start processing %s: %w", display(dataID), err)
	}
	return processAnswer{Message: "Started processing " + display(dataID), TaskID: id, Status: "processing"}, nil
}

// Cleanup starts cleanup for seconds (default 10); ctx is the invocation's.
func (a *Agent) Cleanup(ctx context.Context, p Payload) (any, error) {
	d, _, err := p.Seconds(10)
	if err != nil {
		return nil, err
	}
	id, err := a.sup.Go("cleanup", nil, func(ctx context.Context) error { return a.work(ctx, d, "cleanup") }, supervisor.StartedBy(ctx))
	if err != nil {
		return nil, fmt.Errorf("start cleanup: %w", err)
	}
	return cleanupAnswer{Message: "Started cleanup", TaskID: id}, nil
}

// Status is the ping status and the running jobs, as the reference answers.
func (a *Agent) Status() any {
	jobs := httpapi.NewJobStatus(a.sup.AsyncTaskInfo())
	return statusAnswer{
		PingStatus:  a.sup.PingStatus().Status.String(),
		ActiveTasks: jobs.ActiveCount,
		RunningJobs: jobs.RunningJobs,
	}
}

// Result answers one task by task_id: live, or over and kept; 404 for an
// unknown id or an outcome that expired.
func (a *Agent) Result(p Payload) (any, error) {
	id, possible, err := p.TaskID()
	if err != nil {
		return nil, err
	}
	t, ok := a.sup.Task(id)
	if !possible || !ok {
		return nil, httpapi.Errorf(http.StatusNotFound, "task %s not found: unknown, or ended longer ago than its outcome is kept", p["task_id"])
	}
	ans := resultAnswer{TaskID: t.ID, Name: t.Name, State: t.State.String(), Progress: t.Progress}
	if t.Outcome != 0 {
		ans.State, ans.Done, ans.Progress, ans.Result = t.Outcome.String(), true, nil, t.Result
	}
	if t.Err != nil {
		ans.Error = t.Err.Error()
	}
	return ans, nil
}

// work stands for d of work, stopping early if cancelled.
func (a *Agent) work(ctx context.Context, d time.Duration, what string) error {
	a.log.Info().Str("work", what).Dur("for", d).Msg("started")
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		a.log.Info().Str("work", what).Msg("completed")
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
