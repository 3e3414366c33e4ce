package supervisor_test

import (
	"context"
	"fmt"

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
