// Package agent is the kitchensink agent: an entrypoint, a WebSocket
// handler and a custom ping function that together exercise every part of
// the agent contract. The project's end-to-end tests run it, and anyone can
// run it (examples/kitchensink) to check a client against the contract.
//
// The entrypoint dispatches on the payload's "action"; a payload that is not
// an object, or has no action, is echoed:
//
//	echo or unknown  {"echo": <payload>}
//	process          starts "data_processing" (data_id, seconds; default 30 s)
//	cleanup          starts "cleanup" (seconds; default 10 s)
//	status           {"ping_status": ..., "active_tasks": n, "running_jobs": [...]}
//	result           one task by task_id: its state, and its result or error
//	                 once over; 404 for an unknown or expired id
//
// (those four are the seed agent's, package internal/seed)
//
//	track            AddAsyncTask("manual", {"note": <note>}), answers {"task_id": id}
//	complete         {"completed": CompleteAsyncTask(task_id)}; false for any
//	                 integer that is no tracked task, 400 for a non-integer
//	fail             500 {"error":"boom"}
//	http_error       422 {"error":"bad input"}
//	string / none    "hello" / null
//	context          {"session_id": ..., "request_headers": ...}
//	stream           SSE {"chunk": 1} then "text"
//	stream_fail      SSE {"chunk": 1} then an error event, "stream broke"
//	sleep            blocks seconds (default 2), answers {"slept": <seconds>}
//	task_fail        a task that fails after seconds (default 0.2)
//	task_panic       a task that panics after seconds (default 0.2)
//	panic            the handler panics
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/seed"
	"github.com/agentvisor/agentvisor/supervisor"
)

// PingMode chooses the kitchensink's custom ping function.
type PingMode string

// The ping modes.
const (
	// PingAuto installs no custom ping function: the status is automatic.
	PingAuto PingMode = "auto"
	// PingBusy installs a function that always answers HealthyBusy.
	PingBusy PingMode = "busy"
	// PingFail installs a function that always fails, so the automatic
	// status is used and the failure logged.
	PingFail PingMode = "fail"
)

// ErrInvalidPingMode is a PingMode other than auto, busy and fail.
var ErrInvalidPingMode = errors.New("invalid ping mode")

// ParsePingMode parses "auto", "busy" or "fail".
func ParsePingMode(s string) (PingMode, error) {
	switch m := PingMode(s); m {
	case PingAuto, PingBusy, PingFail:
		return m, nil
	}
	return "", fmt.Errorf("parse ping mode %q: %w", s, ErrInvalidPingMode)
}

// errPingFailed is what the "fail" ping function answers.
var errPingFailed = errors.New("kitchensink ping function fails on purpose")

// Config configures the kitchensink agent.
type Config struct {
	// Supervisor runs the agent's tasks. Required.
	Supervisor *supervisor.Supervisor
	// Logger receives the server's and the agent's logs.
	Logger zerolog.Logger
	// Debug turns on the contract's debug actions.
	Debug bool
	// Ping chooses the custom ping function; "" is PingAuto.
	Ping PingMode
	// Addr and DrainTimeout are the server's (httpapi.Config) for Run.
	Addr         string
	DrainTimeout time.Duration
}

// New installs the ping function cfg.Ping asks for and returns the
// kitchensink agent's server, ready to Serve.
func New(cfg Config) (*httpapi.Server, error) {
	if err := installPing(cfg.Supervisor, cfg.Ping); err != nil {
		return nil, fmt.Errorf("new kitchensink: %w", err)
	}
	a := &agent{sup: cfg.Supervisor, seed: seed.New(cfg.Supervisor, cfg.Logger), log: cfg.Logger.With().Str("component", "kitchensink").Logger()}
	return httpapi.New(httpapi.Config{
		Supervisor:   cfg.Supervisor,
		Logger:       cfg.Logger,
		Entrypoint:   a.invoke,
		WebSocket:    a.echoWebSocket,
		Debug:        cfg.Debug,
		Addr:         cfg.Addr,
		DrainTimeout: cfg.DrainTimeout,
	})
}

func installPing(sup *supervisor.Supervisor, mode PingMode) error {
	if sup == nil {
		return fmt.Errorf("nil Supervisor: %w", httpapi.ErrInvalidConfig)
	}
	switch mode {
	case PingAuto, "":
		return nil
	case PingBusy:
		return sup.SetPingFunc(func(context.Context) (supervisor.Status, error) { return supervisor.HealthyBusy, nil })
	case PingFail:
		return sup.SetPingFunc(func(context.Context) (supervisor.Status, error) { return 0, errPingFailed })
	}
	return fmt.Errorf("ping mode %q: %w", mode, ErrInvalidPingMode)
}

// agent holds what the actions need.
type agent struct {
	sup  *supervisor.Supervisor
	seed *seed.Agent // process, cleanup, status and result
	log  zerolog.Logger
}

// action handles one action of the table in the package doc.
type action func(ctx context.Context, req *httpapi.Request, p seed.Payload) (any, error)

func (a *agent) actions() map[string]action {
	return map[string]action{
		"process": func(ctx context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
			return a.seed.Process(ctx, p)
		},
		"cleanup": func(ctx context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
			return a.seed.Cleanup(ctx, p)
		},
		"status":   func(context.Context, *httpapi.Request, seed.Payload) (any, error) { return a.seed.Status(), nil },
		"result":   func(_ context.Context, _ *httpapi.Request, p seed.Payload) (any, error) { return a.seed.Result(p) },
		"track":    a.track,
		"complete": a.complete,
		"fail":     func(context.Context, *httpapi.Request, seed.Payload) (any, error) { return nil, errors.New("boom") },
		"http_error": func(context.Context, *httpapi.Request, seed.Payload) (any, error) {
			return nil, httpapi.Error(http.StatusUnprocessableEntity, "bad input")
		},
		"string":      func(context.Context, *httpapi.Request, seed.Payload) (any, error) { return "hello", nil },
		"none":        func(context.Context, *httpapi.Request, seed.Payload) (any, error) { return nil, nil },
		"context":     a.context,
		"stream":      a.stream,
		"stream_fail": a.streamFail,
		"sleep":       a.sleep,
		"task_fail":   a.taskFail,
		"task_panic":  a.taskPanic,
		"panic": func(context.Context, *httpapi.Request, seed.Payload) (any, error) {
			panic("kitchensink handler panics on purpose")
		},
	}
}

// invoke is the entrypoint: it dispatches on the action.
func (a *agent) invoke(ctx context.Context, req *httpapi.Request) (any, error) {
	p := seed.ParsePayload(req.Payload)
	if act, ok := a.actions()[p.Action()]; ok {
		return act(ctx, req, p)
	}
	return echoResult{Echo: req.Payload}, nil
}

// echoResult keeps the payload's raw JSON, so its key order survives.
type echoResult struct {
	Echo json.RawMessage `json:"echo"`
}

type taskResult struct {
	TaskID supervisor.TaskID `json:"task_id"`
}

func (a *agent) track(_ context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
	id := a.sup.AddAsyncTask("manual", map[string]any{"note": p.Value("note", nil)})
	if id == 0 {
		return nil, fmt.Errorf("track manual task: %w", supervisor.ErrShuttingDown)
	}
	return taskResult{TaskID: id}, nil
}

func (a *agent) complete(_ context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
	id, ok, err := p.TaskID()
	if err != nil {
		return nil, err
	}
	return map[string]bool{"completed": ok && a.sup.CompleteAsyncTask(id)}, nil
}

// contextResult shows what the entrypoint learnt from the headers.
type contextResult struct {
	SessionID      *string           `json:"session_id"`
	RequestHeaders map[string]string `json:"request_headers"`
}

func (a *agent) context(_ context.Context, req *httpapi.Request, _ seed.Payload) (any, error) {
	res := contextResult{RequestHeaders: req.Headers}
	if req.SessionID != "" {
		res.SessionID = &req.SessionID
	}
	return res, nil
}

func (a *agent) stream(context.Context, *httpapi.Request, seed.Payload) (any, error) {
	return httpapi.Stream(func(yield func(any, error) bool) {
		_ = yield(map[string]int{"chunk": 1}, nil) && yield("text", nil)
	}), nil
}

func (a *agent) streamFail(context.Context, *httpapi.Request, seed.Payload) (any, error) {
	return httpapi.Stream(func(yield func(any, error) bool) {
		_ = yield(map[string]int{"chunk": 1}, nil) && yield(nil, errors.New("stream broke"))
	}), nil
}

// sleepResult echoes the seconds as the client wrote them.
type sleepResult struct {
	Slept json.Number `json:"slept"`
}

func (a *agent) sleep(ctx context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
	d, literal, err := p.Seconds(2)
	if err != nil {
		return nil, err
	}
	if err := wait(d)(ctx); err != nil {
		return nil, fmt.Errorf("sleep: %w", err)
	}
	return sleepResult{Slept: literal}, nil
}

// errTaskFailed is what the task_fail task fails with.
var errTaskFailed = errors.New("kitchensink task fails on purpose")

func (a *agent) taskFail(ctx context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
	return a.startAfter(ctx, p, "task_fail", func() error { return errTaskFailed })
}

func (a *agent) taskPanic(ctx context.Context, _ *httpapi.Request, p seed.Payload) (any, error) {
	return a.startAfter(ctx, p, "task_panic", func() error { panic("kitchensink task panics on purpose") })
}

// startAfter starts a task that waits seconds (default 0.2) then runs then;
// ctx is the invocation's.
func (a *agent) startAfter(ctx context.Context, p seed.Payload, name string, then func() error) (any, error) {
	d, _, err := p.Seconds(0.2)
	if err != nil {
		return nil, err
	}
	id, err := a.sup.Go(name, nil, func(ctx context.Context) error {
		if err := wait(d)(ctx); err != nil {
			return err
		}
		return then()
	}, supervisor.StartedBy(ctx))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return taskResult{TaskID: id}, nil
}

// wait returns a task function that waits d, or until its context ends.
func wait(d time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
