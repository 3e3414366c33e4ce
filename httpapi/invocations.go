package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/agentvisor/agentvisor/internal/errtext"
	"github.com/agentvisor/agentvisor/supervisor"
)

// utf8BOM is skipped before a payload, as Python's json.loads does.
var utf8BOM = []byte("\xef\xbb\xbf")

// serveInvocation answers POST /invocations: the debug action if any, else
// the entrypoint's result as JSON, a Stream as Server-Sent Events, or an error.
func (s *Server) serveInvocation(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, r, ErrDraining)
		return
	}
	payload, err := readPayload(r.Body, r.ContentLength)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if s.cfg.Debug {
		if action, ok := parseAppAction(payload); ok {
			s.serveAppAction(w, r, action)
			return
		}
	}
	if s.cfg.Entrypoint == nil {
		writeError(w, r, ErrNoEntrypoint)
		return
	}
	result, err := s.invoke(r.Context(), newRequest(r, payload))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if stream, ok := result.(Stream); ok {
		s.writeStream(w, r, stream)
		return
	}
	writeResult(w, r, result)
}

// readPayload reads the body, of size bytes if the client said so (-1 if
// not), and checks that it is one UTF-8 JSON value.
func readPayload(body io.Reader, size int64) (json.RawMessage, error) {
	b, err := readAll(body, size)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, bodyTooLarge(tooLarge.Limit)
	case err != nil:
		return nil, withDetails(ErrReadBody, err.Error())
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	if !utf8.Valid(b) {
		return nil, withDetails(ErrInvalidEncoding, fmt.Sprintf("body is not valid UTF-8 (first bad byte at offset %d)", firstInvalidUTF8(b)))
	}
	if !json.Valid(b) {
		return nil, withDetails(ErrInvalidJSON, jsonProblem(b))
	}
	return b, nil
}

// readAll is io.ReadAll with a first buffer of the declared size (and one
// byte to meet the end) where io.ReadAll starts at 512 bytes, too much for a
// small payload. The first buffer is at most 64 KiB, so that a client that
// declares a large body and sends nothing costs nothing; an undeclared size
// (-1) starts at 512 bytes, as io.ReadAll does.
func readAll(r io.Reader, size int64) ([]byte, error) {
	first := int64(512)
	if size >= 0 {
		first = min(size, 64<<10) + 1
	}
	b := make([]byte, 0, first)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append choose the next size
		}
	}
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// jsonProblem describes why b is not JSON; only called once json.Valid said no.
func jsonProblem(b []byte) string {
	if len(bytes.TrimSpace(b)) == 0 {
		return "empty body"
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err.Error()
	}
	return "not a JSON value"
}

// invoke calls the entrypoint, turning a panic into a *PanicError. Its
// error is made safe to read here, where it leaves user code, so that the
// answer and the log lines never call an Error method that panics.
func (s *Server) invoke(ctx context.Context, req *Request) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = s.recovered(ctx, v, supervisor.PanicHandler)
		}
	}()
	result, err = s.cfg.Entrypoint(ctx, req)
	return result, errtext.Safe(err)
}

// recovered logs a panic recovered in user code at source (one of the
// supervisor's Panic… names) with its stack, counts it in the supervisor
// (and so in agentvisor.panics), records it on the request's span, and
// returns it as an error.
func (s *Server) recovered(ctx context.Context, v any, source string) error {
	if v == http.ErrAbortHandler { // net/http aborts a response this way; let it
		panic(v)
	}
	s.sup.RecordPanic(source)
	zerolog.Ctx(ctx).Error().Str("panic", fmt.Sprint(v)).Str("source", source).Bytes("stack", debug.Stack()).Msg("panic recovered")
	err := &PanicError{Value: v}
	notePanic(ctx, err)
	return err
}
