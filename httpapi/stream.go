package httpapi

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/errtext"
	"github.com/agentvisor/agentvisor/supervisor"
)

// Stream is an entrypoint result sent as Server-Sent Events: each value the
// sequence yields is one event, data: <json>\n\n, flushed at once. A non-nil
// error ends the stream with an error event. When the client goes away the
// request's context is cancelled and yield returns false: the producer must
// stop then.
//
//	return httpapi.Stream(func(yield func(any, error) bool) {
//		for _, chunk := range chunks {
//			if !yield(chunk, nil) {
//				return
//			}
//		}
//	}), nil
type Stream iter.Seq2[any, error]

// streamErrorMessage is the "message" of every error event, as the reference
// writes it.
const streamErrorMessage = "An error occurred during streaming"

// streamError is the last event of a stream that failed.
type streamError struct {
	Error     string `json:"error"`
	ErrorType string `json:"error_type"`
	Message   string `json:"message"`
}

// errClientGone stops a stream whose client left: nothing more can reach it.
var errClientGone = errors.New("client went away")

// writeStream answers 200 text/event-stream and sends the stream's events.
// Headers go out at once, so the answer is chunked whatever follows.
func (s *Server) writeStream(w http.ResponseWriter, r *http.Request, stream Stream) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	out := &eventWriter{ctx: r.Context(), w: w, rc: http.NewResponseController(w)}
	_ = out.rc.Flush() // headers now; a client that left shows at the first event
	err := s.pump(r.Context(), out, stream)
	if err == nil {
		return
	}
	zerolog.Ctx(r.Context()).Warn().Err(err).Msg("stream failed")
	_ = out.send(streamError{Error: err.Error(), ErrorType: errorType(err), Message: streamErrorMessage})
}

// pump sends the stream's items until it ends, fails, panics or the client
// leaves; it returns the failure, nil otherwise.
func (s *Server) pump(ctx context.Context, out *eventWriter, stream Stream) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = s.recovered(ctx, v, supervisor.PanicStream)
		}
	}()
	for item, itemErr := range stream {
		if itemErr != nil {
			return errtext.Safe(itemErr) // its text goes into the last event
		}
		if err := out.send(item); err != nil {
			if errors.Is(err, errClientGone) {
				return nil
			}
			return err
		}
	}
	return nil
}

// eventWriter writes Server-Sent Events.
type eventWriter struct {
	ctx context.Context
	w   http.ResponseWriter
	rc  *http.ResponseController
}

// send writes one event and flushes it.
func (e *eventWriter) send(v any) error {
	if e.ctx.Err() != nil {
		return errClientGone
	}
	data, err := Marshal(v)
	if err != nil {
		return fmt.Errorf("stream item: %w", err)
	}
	event := make([]byte, 0, len(data)+8)
	event = append(append(append(event, "data: "...), data...), "\n\n"...)
	if _, err := e.w.Write(event); err != nil {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	if err := e.rc.Flush(); err != nil {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return nil
}
