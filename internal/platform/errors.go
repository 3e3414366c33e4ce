package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// apiError is an error with the sentinel that decides its status.
type apiError struct {
	kind error
	msg  string
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &apiError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Errors of the HTTP edge alone.
var (
	errNoRoute = errors.New("no route")
	errMethod  = errors.New("method not allowed")
	errForward = errors.New("agent did not answer")
)

// errorTable is the one place that decides the emulator's own error
// statuses, and the AWS error code the SDK turns into a typed error
// (X-Amzn-ErrorType). Failures of the agent are 424 RuntimeClientError, not
// 5xx: the SDK retries a 5xx, which would start the invocation again.
var errorTable = []struct {
	err    error
	status int
	code   string
}{
	{ErrSessionID, http.StatusBadRequest, "ValidationException"},
	{ErrNoSession, http.StatusNotFound, "ResourceNotFoundException"},
	{errNoRoute, http.StatusNotFound, "UnknownOperationException"},
	{errMethod, http.StatusMethodNotAllowed, "UnknownOperationException"},
	{ErrAgentStart, http.StatusFailedDependency, "RuntimeClientError"},
	{errForward, http.StatusFailedDependency, "RuntimeClientError"},
	{ErrClosed, http.StatusServiceUnavailable, "ServiceUnavailableException"},
	{context.Canceled, 499, "RequestCancelled"}, // nobody reads it: the client has gone
}

// writeError answers err as JSON: {"error": code, "message": text}, the
// code also in X-Amzn-ErrorType, where the SDK reads it.
func writeError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, "InternalServerException"
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			status, code = row.status, row.code
			break
		}
	}
	body, _ := json.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, err.Error()})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonOrNil is a raw JSON value for an answer, nil (null) when empty.
func jsonOrNil(raw string) any {
	if raw == "" {
		return nil
	}
	return json.RawMessage(raw)
}
