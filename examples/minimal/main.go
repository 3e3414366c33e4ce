// Command minimal is the README's agent: {"prompt": "..."} submits a job,
// {"job": 1} polls it and, once it is over, fetches its result.
package main

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

func main() {
	log := zerolog.New(os.Stderr).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	sup, err := supervisor.New(supervisor.Config{Logger: log})
	if err != nil {
		log.Fatal().Err(err).Send()
	}
	srv, err := httpapi.New(httpapi.Config{Supervisor: sup, Logger: log, Entrypoint: func(ctx context.Context, req *httpapi.Request) (any, error) {
		var in struct {
			Prompt string
			Job    supervisor.TaskID
		}
		if err := req.Decode(&in); err != nil {
			return nil, err // 400
		}
		if in.Job == 0 { // submit: /ping says HealthyBusy until the job is over
			id, err := supervisor.GoResult(sup, "think", nil, func(ctx context.Context) (string, error) { return think(ctx, in.Prompt) }, supervisor.StartedBy(ctx))
			return map[string]any{"job": id}, err
		}
		if t, ok := sup.Task(in.Job); ok { // poll: its state and progress; once it is over, its result
			return t, nil
		}
		return nil, httpapi.Errorf(http.StatusNotFound, "no job %d", in.Job)
	}})
	if err == nil {
		err = srv.Run(context.Background()) // 0.0.0.0:$PORT until SIGTERM, then a drain
	}
	if err != nil {
		log.Fatal().Err(err).Send()
	}
}

// think stands for the agent's long work: five steps of a second, each reported.
func think(ctx context.Context, prompt string) (string, error) {
	for step := range 5 {
		_ = supervisor.Progress(ctx, float64(step)/5, "thinking")
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return "an answer to " + prompt, nil
}
