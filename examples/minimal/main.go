// Command minimal is the smallest agentvisor agent: the README's example.
package main

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

func main() {
	log := zerolog.New(os.Stderr)
	sup, err := supervisor.New(supervisor.Config{Logger: log})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	srv, err := httpapi.New(httpapi.Config{Supervisor: sup, Logger: log, Debug: os.Getenv("AGENT_DEBUG") == "1",
		Entrypoint: func(ctx context.Context, req *httpapi.Request) (any, error) {
			var in struct{ Prompt string }
			if err := req.Decode(&in); err != nil {
				return nil, err // 400
			}
			id, err := sup.Go("think", nil, func(ctx context.Context) error {
				select { // your background work; /ping says HealthyBusy meanwhile
				case <-time.After(time.Second):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			return map[string]any{"task_id": id, "prompt": in.Prompt}, err
		}})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	ln, err := net.Listen("tcp", "0.0.0.0:8080")
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	log.Fatal().Err(srv.Serve(ln)).Send()
}
