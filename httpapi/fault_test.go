package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/internal/testkit"
	"github.com/agentvisor/agentvisor/supervisor"
)

// faultAgent starts a task of the fate the payload names; the fate
// "handler_panic" panics in the handler itself.
type faultAgent struct {
	sup     *supervisor.Supervisor
	release chan struct{} // lets the functions that ignore cancellation return
}

// faultOutcomes maps each task fate to the outcome its task must end with.
var faultOutcomes = map[string]string{
	"ok":               "succeeded",
	"error":            "failed",
	"panic":            "failed",
	"restart":          "succeeded",
	"ignore_cancel":    "abandoned",
	"missed_heartbeat": "failed",
}

func (a *faultAgent) invoke(_ context.Context, req *httpapi.Request) (any, error) {
	var p struct{ Fate string }
	if err := req.Decode(&p); err != nil {
		return nil, err
	}
	fn, opts := a.fate(p.Fate)
	if p.Fate == "handler_panic" {
		panic("handler panic")
	}
	if fn == nil {
		return nil, httpapi.Error(http.StatusBadRequest, "unknown fate")
	}
	id, err := a.sup.Go(p.Fate, nil, fn, opts...)
	if err != nil {
		return nil, err
	}
	return map[string]any{"task_id": id}, nil
}

func (a *faultAgent) fate(name string) (func(context.Context) error, []supervisor.TaskOption) {
	switch name {
	case "ok":
		return func(ctx context.Context) error {
			select {
			case <-time.After(time.Duration(rand.IntN(5)) * time.Millisecond):
			case <-ctx.Done():
			}
			return nil
		}, nil
	case "error":
		return func(context.Context) error { return errors.New("boom") }, nil
	case "panic":
		return func(context.Context) error { panic("task panic") }, nil
	case "restart":
		var runs atomic.Int32
		return func(context.Context) error {
				if runs.Add(1) == 1 {
					return errors.New("first attempt fails")
				}
				return nil
			}, []supervisor.TaskOption{supervisor.WithRestart(supervisor.RestartPolicy{
				MaxRestarts: 1, InitialBackoff: time.Millisecond,
			})}
	case "ignore_cancel":
		return func(context.Context) error { <-a.release; return nil },
			[]supervisor.TaskOption{supervisor.WithTimeout(2 * time.Millisecond), supervisor.WithCancelGrace(5 * time.Millisecond)}
	case "missed_heartbeat":
		return func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
			[]supervisor.TaskOption{supervisor.WithHeartbeat(2 * time.Millisecond)}
	}
	return nil, nil
}

var pingBody = regexp.MustCompile(`^\{"status":"(Healthy|HealthyBusy)","time_of_last_update":\d+\}$`)

// Hundreds of tasks with random fates, started over HTTP while others poll
// /ping: every request is answered as the contract says, every task ends
// once with the outcome of its fate, and the agent ends Healthy and empty.
func TestFaultsUnderLoad(t *testing.T) {
	const clients, perClient, pingers = 8, 60, 4
	logs := &logBuffer{}
	sup, err := supervisor.New(supervisor.Config{Logger: logs.logger(zerolog.DebugLevel)})
	if err != nil {
		t.Fatal(err)
	}
	agent := &faultAgent{sup: sup, release: make(chan struct{})}
	t.Cleanup(func() {
		close(agent.release)
		testkit.ShutdownNow(sup)
	})
	_, base := mustServe(t, httpapi.Config{Supervisor: sup, Entrypoint: agent.invoke})

	fates := make([]string, 0, len(faultOutcomes)+1)
	for f := range faultOutcomes {
		fates = append(fates, f)
	}
	fates = append(fates, "handler_panic")

	var mu sync.Mutex // guards want, handlerPanics, taskPanics
	want := map[supervisor.TaskID]string{}
	var handlerPanics, taskPanics uint64
	stopPings := make(chan struct{})
	var pings, load sync.WaitGroup
	var pinged atomic.Int64
	for range pingers {
		pings.Go(func() {
			for {
				select {
				case <-stopPings:
					return
				default:
				}
				if err := checkPing(base); err != nil {
					t.Error(err)
					return
				}
				pinged.Add(1)
			}
		})
	}
	for c := range clients {
		load.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for range perClient {
				fate := fates[rng.IntN(len(fates))]
				id, err := invokeFate(base, fate)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				switch fate {
				case "handler_panic":
					handlerPanics++
				case "panic":
					taskPanics++
					want[id] = faultOutcomes[fate]
				default:
					want[id] = faultOutcomes[fate]
				}
				mu.Unlock()
			}
		})
	}
	load.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sup.WaitIdle(ctx); err != nil {
		t.Fatalf("tasks still tracked: %v", err)
	}
	close(stopPings)
	pings.Wait()

	if got := do(t, http.MethodGet, base+"/ping", "", nil).body; !strings.HasPrefix(got, `{"status":"Healthy",`) {
		t.Fatalf("ping after the load: %s, want Healthy", got)
	}
	if info := sup.AsyncTaskInfo(); info.ActiveCount != 0 {
		t.Fatalf("registry not empty: %+v", info)
	}
	ended := taskOutcomes(t, logs.String())
	for id, outcome := range want {
		if got := ended[id]; len(got) != 1 || got[0] != outcome {
			t.Errorf("task %d: outcomes %v, want exactly [%s]", id, got, outcome)
		}
	}
	panics := sup.Panics()
	if panics[supervisor.PanicHandler] != handlerPanics || panics[supervisor.PanicTask] != taskPanics {
		t.Errorf("panics %v, want %d handler and %d task panics", panics, handlerPanics, taskPanics)
	}
	if pinged.Load() == 0 {
		t.Error("no ping was answered during the load")
	}
}

func checkPing(base string) error {
	res, err := http.Get(base + "/ping")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || !pingBody.Match(b) {
		return fmt.Errorf("ping: %d %s", res.StatusCode, b)
	}
	return nil
}

// invokeFate posts a fate; it returns the task's id, or zero for a handler
// panic, which must be a 500.
func invokeFate(base, fate string) (supervisor.TaskID, error) {
	res, err := http.Post(base+"/invocations", "application/json", strings.NewReader(`{"fate": "`+fate+`"}`))
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if fate == "handler_panic" {
		if res.StatusCode != http.StatusInternalServerError || string(b) != `{"error":"handler panic"}` {
			return 0, fmt.Errorf("handler panic answered %d %s", res.StatusCode, b)
		}
		return 0, nil
	}
	var out struct {
		TaskID supervisor.TaskID `json:"task_id"`
	}
	if err := json.Unmarshal(b, &out); res.StatusCode != http.StatusOK || err != nil || out.TaskID == 0 {
		return 0, fmt.Errorf("fate %s answered %d %s", fate, res.StatusCode, b)
	}
	return out.TaskID, nil
}

// taskOutcomes reads the "task over" log lines: the outcomes of each task.
func taskOutcomes(tb testing.TB, logs string) map[supervisor.TaskID][]string {
	tb.Helper()
	out := map[supervisor.TaskID][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var l struct {
			Message string            `json:"message"`
			TaskID  supervisor.TaskID `json:"task_id"`
			Outcome string            `json:"outcome"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if l.Message == "task over" {
			out[l.TaskID] = append(out[l.TaskID], l.Outcome)
		}
	}
	return out
}

// An entrypoint refused a task by a concurrency limit answers 429.
func TestTooManyTasksIs429(t *testing.T) {
	sup, err := supervisor.New(supervisor.Config{Limits: supervisor.Limits{MaxTasks: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testkit.ShutdownNow(sup) })
	_, base := mustServe(t, httpapi.Config{Supervisor: sup, Entrypoint: func(context.Context, *httpapi.Request) (any, error) {
		return sup.Go("job", nil, func(ctx context.Context) error { <-ctx.Done(); return nil })
	}})
	if got := post(t, base, `{}`); got.status != http.StatusOK {
		t.Fatalf("first task: %d %s", got.status, got.body)
	}
	got := post(t, base, `{}`)
	if got.status != http.StatusTooManyRequests || !strings.Contains(got.body, "too many tasks") {
		t.Fatalf("second task: %d %s, want 429 too many tasks", got.status, got.body)
	}
}
