// Package httpapi serves an agent over the Amazon Bedrock AgentCore Runtime
// contract: GET /ping, POST /invocations and the WebSocket /ws, answering
// byte for byte as the reference Python SDK does. It is a thin gorilla/mux
// layer over package supervisor, which owns the tasks and the ping status.
//
// An agent is an Entrypoint, a function from a Request to a result:
//
//	sup, err := supervisor.New(supervisor.Config{Logger: logger})
//	if err != nil {
//		return err
//	}
//	srv, err := httpapi.New(httpapi.Config{
//		Supervisor: sup,
//		Logger:     logger,
//		Entrypoint: func(ctx context.Context, req *httpapi.Request) (any, error) {
//			var in struct{ Name string `json:"name"` }
//			if err := req.Decode(&in); err != nil {
//				return nil, err // a 400
//			}
//			if in.Name == "" {
//				return nil, httpapi.Error(422, "name is required")
//			}
//			return map[string]string{"greeting": "hello " + in.Name}, nil
//		},
//	})
//
// then serves as the platform expects, last thing in main:
//
//	return srv.Run(ctx) // 0.0.0.0:$PORT until SIGTERM, then drains and stops sup
//
// Run stops in this order, which a program that serves a listener of its
// own with Serve follows too:
//
//	srv.Drain()          // new invocations get 503; /ping still tells the truth
//	sup.Shutdown(ctx)    // tasks finish, or are cancelled and logged
//	srv.Shutdown(ctx)    // in-flight requests and WebSocket sessions end
//
// Work that outlives the request runs as a supervisor task; /ping answers
// HealthyBusy while any runs:
//
//	id, err := sup.Go("report", nil, func(ctx context.Context) error { ... })
//
// A result is encoded as the reference writes it (see Marshal): spaced JSON,
// raw UTF-8. A Stream result is sent as Server-Sent Events. Every error is
// answered as compact JSON, {"error":"<message>"}, sometimes with
// "details", and its status follows one rule: an *HTTPError (Error, Errorf)
// has the status it chooses; an error that wraps one of the Err… variables
// has the status and message that variable's comment gives (ErrInvalidJSON
// is 400 "Invalid JSON", ErrNotFound 404, ErrDraining 503, ...), and one
// that wraps supervisor.ErrShuttingDown or supervisor.ErrTooManyTasks is a
// 503 or a 429 with its own text; any other error is a 500 with its own
// text, as the reference answers a failing handler. docs/http-api.md lists
// every answer, endpoint by endpoint.
//
// Debug mode (Config.Debug) answers the contract's "_agent_core_app_action"
// payloads and serves the live actor tree: GET /debug/ is a page that
// draws it and refreshes every second, GET /debug/actors and /debug/tasks
// its JSON (a page of 100 tasks by default), GET /debug/tasks?state=finished
// the outcomes the supervisor keeps of ended tasks, GET /debug/tasks/{id}
// one task, live or kept, and POST /debug/tasks/{id}/cancel cancels one.
// Off, every /debug/ path is a 404. It is for development: anyone who
// reaches the port can cancel every task.
//
// Telemetry goes to OpenTelemetry through Config.TracerProvider,
// MeterProvider and Propagator (by default the global providers, and W3C
// traceparent and baggage). Each /invocations request and each /ws session
// is a server span, "POST /invocations" or "GET /ws", made by otelhttp,
// continuing the caller's traceparent, with the attributes session.id and
// agentvisor.request.id. The handler's context carries the span, and
// session.id in its baggage, so that work it starts can link to it. A
// panic recovered from a handler is an exception on the span and a count
// in the supervisor's agentvisor.panics; otelhttp measures
// http.server.request.duration. /ping and /debug/ are never
// traced, and Run flushes both providers as it stops.
//
// Every request goes through middleware that reads or makes its request id,
// logs it through hlog (/ping at debug level only), turns a panic into a
// 500 and limits the body size (Config.MaxBodyBytes, 100 MB by default).
// Inside an entrypoint, zerolog.Ctx(ctx) is the request's logger.
package httpapi
