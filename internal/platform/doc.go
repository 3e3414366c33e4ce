// Package platform stands in for Amazon Bedrock AgentCore Runtime in front
// of any agent binary, so that an agent's session lifecycle can be seen on
// a laptop: the data-plane API the AWS SDK calls, one agent process per
// session, /ping polled, and sessions ended by the platform's rules (idle
// timeout, max lifetime, StopRuntimeSession, unhealthy pings). The command
// is cmd/agentcore-local; docs/agentcore-local.md gives the rules' sources.
//
// Run it in front of an agent:
//
//	e, err := platform.New(platform.Config{
//		Command:     []string{"./bin/agent"},
//		IdleTimeout: 60 * time.Second,
//		Logger:      log,
//	})
//	ln, _ := net.Listen("tcp", "127.0.0.1:8090")
//	err = e.Run(ctx, ln) // until ctx is done; then every session ends
//
// or mount it (it is an http.Handler) and call Close when done. The AWS
// SDK reaches it with BaseEndpoint set to its URL:
//
//	client := bedrockagentcore.NewFromConfig(cfg, func(o *bedrockagentcore.Options) {
//		o.BaseEndpoint = aws.String("http://127.0.0.1:8090")
//	})
//
// # The rules
//
// The idle clock runs from the later of the last invocation's arrival and
// the time_of_last_update of the last /ping answer. An answer HealthyBusy
// with an integer time holds the session (no clock); an answer without an
// integer time holds nothing, whatever its status, and the clock runs from
// the last invocation. A request in flight does not hold the session. The
// max lifetime runs from the session's first invocation. Ending is SIGTERM
// to the agent's process group, StopGrace, then SIGKILL; the group is
// killed in any case once the agent has exited, so nothing it started
// outlives the session, as nothing outlives a microVM.
//
// # Goroutines
//
// Each has one owner, which stops it and waits for it:
//
//	session.run      one per session: starts the agent, pings it, ends it.
//	                 Started by the Emulator on a session's first
//	                 invocation; ends after its agent has exited; Close
//	                 cancels the Emulator's context and waits for all.
//	process Wait     one per agent process: waits for the exit and closes
//	                 exited. Owned by the process; ends when the process
//	                 does, which session.run ensures (SIGKILL) and waits for.
//	Close's waiter   waits for the session loops so that Close can give up
//	                 at its context's end; it ends when they have.
//	Run's Serve      the HTTP server; Run shuts it down and takes its result.
//
// # State
//
// The Emulator's mutex guards the session map; a session's mutex guards
// what its invocations and its loop both touch (the last invocation, the
// last ping answer, counters). The Emulator's is taken first. A session is
// removed from the map in the same critical section that decides it is due,
// so an invocation either resets its clock or reaches a new session.
package platform
