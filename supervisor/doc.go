// Package supervisor is agentvisor's Go API: it tracks an agent's background
// tasks so that /ping tells the truth, and runs each task as a supervised actor.
//
// Start one Supervisor per process and stop it with Shutdown:
//
//	sup, err := supervisor.New(supervisor.Config{Logger: logger})
//	if err != nil {
//		return err
//	}
//	defer sup.Shutdown(ctx)
//
// A task started with Go runs a function; it counts as busy until the function
// returns, fails for good, is cancelled, or is abandoned because it ignored
// cancellation:
//
//	id, err := sup.Go("report", map[string]any{"day": day}, func(ctx context.Context) error {
//		return buildReport(ctx, day)
//	}, supervisor.WithTimeout(30*time.Minute), supervisor.WithRestart(supervisor.RestartPolicy{MaxRestarts: 3}))
//
// A task the program runs itself is tracked by hand, as with the AWS Python
// SDK's add_async_task and complete_async_task:
//
//	id := sup.AddAsyncTask("upload", nil)
//	defer sup.CompleteAsyncTask(id)
//
// PingStatus is what /ping reports: a status forced with ForcePingStatus wins,
// then the custom function set with SetPingFunc, then the automatic status,
// HealthyBusy while any task is tracked. Its time changes only when the status
// does.
//
// Go cannot kill a goroutine: a task function that ignores its cancelled
// context is abandoned after its cancel grace. It stops counting as busy and
// is logged and shown in the tree, but its goroutine runs on until it returns.
//
// Every attempt of a task is an OpenTelemetry span, and the tasks are counted
// in metrics (Config.TracerProvider and Config.MeterProvider, the global
// providers by default). A task started while serving a request names it
// with StartedBy, so that its spans link to the request's and carry its
// session.id:
//
//	id, err := sup.Go("report", nil, buildReport, supervisor.StartedBy(ctx))
package supervisor
