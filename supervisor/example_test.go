package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/agentvisor/agentvisor/supervisor"
)

// Go runs a function as a supervised task; the agent reports HealthyBusy
// until it returns.
func ExampleSupervisor_Go() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		panic(err)
	}
	defer sup.Shutdown(context.Background())

	finish := make(chan struct{})
	_, err = sup.Go("report", map[string]any{"day": "monday"}, func(ctx context.Context) error {
		select {
		case <-finish:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 3}))
	fmt.Println(err, sup.PingStatus().Status)

	close(finish)
	_ = sup.WaitIdle(context.Background())
	fmt.Println(sup.PingStatus().Status)
	// Output:
	// <nil> HealthyBusy
	// Healthy
}

// AddAsyncTask tracks work the program runs itself, as the Python SDK's
// add_async_task does.
func ExampleSupervisor_AddAsyncTask() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		panic(err)
	}
	defer sup.Shutdown(context.Background())

	id := sup.AddAsyncTask("upload", map[string]any{"file": "data.csv"})
	info := sup.AsyncTaskInfo()
	fmt.Println(sup.PingStatus().Status, info.ActiveCount, info.RunningJobs[0].Name)

	fmt.Println(sup.CompleteAsyncTask(id), sup.CompleteAsyncTask(id))
	fmt.Println(sup.PingStatus().Status)
	// Output:
	// HealthyBusy 1 upload
	// true false
	// Healthy
}

// GoResult runs a function that returns a value; Task reports the task
// while it runs and keeps its outcome once it ended: the submit, poll and
// fetch pattern of a long job.
func ExampleGoResult() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		panic(err)
	}
	defer sup.Shutdown(context.Background())

	finish := make(chan struct{})
	id, err := supervisor.GoResult(sup, "count", map[string]any{"file": "words.txt"}, func(ctx context.Context) (int, error) {
		<-finish
		return 1234, nil
	})
	if err != nil {
		panic(err)
	}
	t, _ := sup.Task(id)
	fmt.Println(t.Name, t.State, t.Busy, t.Metadata["file"])

	close(finish)
	_ = sup.WaitIdle(context.Background())
	t, _ = sup.Task(id)
	fmt.Println(t.Outcome, t.Result, t.Err, t.Attempts)
	// Output:
	// count running true words.txt
	// succeeded 1234 <nil> 1
}

// Task tells why a task ended: here its timeout.
func ExampleSupervisor_Task() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		panic(err)
	}
	defer sup.Shutdown(context.Background())

	id, _ := sup.Go("slow", nil, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}, supervisor.WithTimeout(10*time.Millisecond))
	_ = sup.WaitIdle(context.Background())

	t, ok := sup.Task(id)
	fmt.Println(ok, t.Outcome, errors.Is(t.Err, supervisor.ErrTimeout))
	// Output:
	// true timed_out true
}

// Progress reports, from inside a task, how far it has come; Task shows the
// latest report.
func ExampleProgress() {
	sup, err := supervisor.New(supervisor.Config{})
	if err != nil {
		panic(err)
	}
	defer sup.Shutdown(context.Background())

	reported, finish := make(chan struct{}), make(chan struct{})
	id, _ := sup.Go("etl", nil, func(ctx context.Context) error {
		if err := supervisor.Progress(ctx, 0.25, "extracting"); err != nil {
			return err
		}
		close(reported)
		<-finish
		return nil
	})
	<-reported
	var t supervisor.Task
	for t.Progress == nil { // the report reaches the task's actor by message
		t, _ = sup.Task(id)
		runtime.Gosched()
	}
	fmt.Println(t.Progress.Fraction, t.Progress.Note)
	close(finish)
	// Output:
	// 0.25 extracting
}
