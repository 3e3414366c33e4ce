// Command streamagent is an agentvisor agent for the emulator's tests: every
// invocation answers a stream of -events events, -every apart, and a stream
// open longer than -busy-after counts as busy (httpapi.Config.BusyAfter;
// negative: off).
package main

import (
	"context"
	"flag"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

func main() {
	events := flag.Int("events", 10, "events per stream")
	every := flag.Duration("every", 400*time.Millisecond, "time between events")
	busyAfter := flag.Duration("busy-after", httpapi.DefaultBusyAfter, "httpapi.Config.BusyAfter")
	flag.Parse()
	log := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	sup, err := supervisor.New(supervisor.Config{Logger: log})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	srv, err := httpapi.New(httpapi.Config{Supervisor: sup, Logger: log, BusyAfter: *busyAfter,
		Entrypoint: func(ctx context.Context, _ *httpapi.Request) (any, error) {
			return httpapi.Stream(func(yield func(any, error) bool) {
				for i := range *events {
					select {
					case <-time.After(*every):
					case <-ctx.Done():
						return
					}
					if !yield(map[string]int{"event": i}, nil) {
						return
					}
				}
			}), nil
		}})
	if err == nil {
		err = srv.Run(context.Background())
	}
	if err != nil {
		log.Fatal().Err(err).Send()
	}
}
