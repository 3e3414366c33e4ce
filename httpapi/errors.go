package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"unicode"
	"unicode/utf8"

	"github.com/agentvisor/agentvisor/supervisor"
)

// ErrInvalidConfig is a Config that New cannot serve.
var ErrInvalidConfig = errors.New("invalid httpapi config")

// Errors the server answers with; match them with errors.Is. Each one's
// comment gives its answer: the status and the compact JSON body, to which
// "details" is added where the server knows more. An error that an
// entrypoint returns is answered by the same rule: an *HTTPError with the
// status it chooses; one that wraps an error below with that error's
// answer, or wraps supervisor.ErrShuttingDown (503) or
// supervisor.ErrTooManyTasks (429) with that status and its own text; any
// other with 500 and its own text.
var (
	// ErrInvalidJSON is an invocation body that is not one JSON value.
	// Answered 400 {"error":"Invalid JSON"}.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrInvalidEncoding is an invocation body that is not UTF-8.
	// Answered 400 {"error":"Invalid encoding"}.
	ErrInvalidEncoding = errors.New("invalid encoding")
	// ErrBodyTooLarge is a request body over Config.MaxBodyBytes.
	// Answered 413 {"error":"Payload Too Large"}.
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrReadBody is a request body that could not be read to its end.
	// Answered 400 {"error":"Could not read request body"}.
	ErrReadBody = errors.New("read request body")
	// ErrNoEntrypoint is an invocation on a server without an entrypoint.
	// Answered 500 {"error":"No entrypoint defined"}.
	ErrNoEntrypoint = errors.New("no entrypoint defined")
	// ErrNoWebSocketHandler is a WebSocket upgrade on a server without a
	// WebSocket handler. Answered 404 {"error":"No WebSocket handler defined"}.
	ErrNoWebSocketHandler = errors.New("no WebSocket handler defined")
	// ErrUpgradeRequired is a plain GET on /ws.
	// Answered 426 {"error":"WebSocket upgrade required"}.
	ErrUpgradeRequired = errors.New("WebSocket upgrade required")
	// ErrDraining refuses new invocations and WebSocket sessions once the
	// server drains.
	// Answered 503 {"error":"Agent is shutting down: no new invocations"}.
	ErrDraining = errors.New("server is draining")
	// ErrNotFound is a path the server does not serve.
	// Answered 404 {"error":"Not Found"}.
	ErrNotFound = errors.New("not found")
	// ErrMethodNotAllowed is a known path with a method it does not take.
	// Answered 405 {"error":"Method Not Allowed"}, with an Allow header.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrInvalidQuery is a debug request whose query parameters are out of
	// range (limit, offset, state). Answered 400 {"error":"Invalid query"}.
	ErrInvalidQuery = errors.New("invalid query")
	// ErrInvalidTaskID is a debug request whose task id is not a task id.
	// Answered 400 {"error":"Invalid task id"}.
	ErrInvalidTaskID = errors.New("invalid task id")
	// ErrTaskNotFound is a debug request for a task that is neither live
	// nor kept (unknown, or its outcome expired).
	// Answered 404 {"error":"Task not found"}.
	ErrTaskNotFound = errors.New("task not found")
	// ErrTaskNotCancellable is a cancel of a task that is already
	// cancelling, abandoned, stopping or over.
	// Answered 409 {"error":"Task not cancellable"}.
	ErrTaskNotCancellable = errors.New("task not cancellable")
	// ErrCrossOrigin refuses a debug command sent by a page of another
	// origin: a web page must not be able to cancel an agent's tasks.
	// Answered 403 {"error":"Cross-origin request refused"}.
	ErrCrossOrigin = errors.New("cross-origin request refused")
	// ErrUnknownAction is a debug action that the contract does not name.
	// Answered 400 {"error":"Unknown action: <value>"}, as the reference
	// answers it.
	ErrUnknownAction = errors.New("unknown debug action")
	// ErrActionFailed is a debug action that the supervisor refused (it
	// shuts down, or does not answer).
	// Answered 500 {"error":"Debug action failed"}.
	ErrActionFailed = errors.New("debug action failed")
	// ErrInternal is a failure of the server's own code, such as a panic
	// outside the entrypoint, stream and WebSocket handlers (which recover
	// their own): logged with its stack, not shown.
	// Answered 500 {"error":"Internal Server Error"}.
	ErrInternal = errors.New("internal server error")
)

// errorTable decides the status and the public message of every error the
// server answers, in one place; the sentinels' comments say what it decides
// (TestSentinelDocsMatchTheTable checks them). An empty message shows the
// error's own text. The first entry that matches (errors.Is) wins; an error
// in none of them is a 500 with its own text, as the reference answers a
// failing handler.
var errorTable = []struct {
	err     error
	status  int
	message string
}{
	{ErrInvalidJSON, http.StatusBadRequest, "Invalid JSON"},
	{ErrInvalidEncoding, http.StatusBadRequest, "Invalid encoding"},
	{ErrReadBody, http.StatusBadRequest, "Could not read request body"},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge, "Payload Too Large"},
	{ErrNotFound, http.StatusNotFound, "Not Found"},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, "Method Not Allowed"},
	{ErrNoWebSocketHandler, http.StatusNotFound, "No WebSocket handler defined"},
	{ErrUpgradeRequired, http.StatusUpgradeRequired, "WebSocket upgrade required"},
	{ErrNoEntrypoint, http.StatusInternalServerError, "No entrypoint defined"},
	{ErrDraining, http.StatusServiceUnavailable, "Agent is shutting down: no new invocations"},
	{supervisor.ErrShuttingDown, http.StatusServiceUnavailable, ""},
	{supervisor.ErrTooManyTasks, http.StatusTooManyRequests, ""},
	{ErrInvalidQuery, http.StatusBadRequest, "Invalid query"},
	{ErrInvalidTaskID, http.StatusBadRequest, "Invalid task id"},
	{ErrTaskNotFound, http.StatusNotFound, "Task not found"},
	{ErrTaskNotCancellable, http.StatusConflict, "Task not cancellable"},
	{ErrCrossOrigin, http.StatusForbidden, "Cross-origin request refused"},
	{ErrUnknownAction, http.StatusBadRequest, ""},
	{ErrActionFailed, http.StatusInternalServerError, "Debug action failed"},
	{ErrInternal, http.StatusInternalServerError, "Internal Server Error"},
}

// HTTPError is an error that chooses the HTTP status of its answer. An
// entrypoint returns one (see Error and Errorf) to answer something other
// than 500.
type HTTPError struct {
	// Status is the HTTP status code of the answer, from 200 to 999 but not
	// 204 or 304 (which have no body); with any other the answer is a 500,
	// and the log line says which status was asked for.
	Status int
	// Message is the answer's "error" field.
	Message string
	// Err is the underlying error, if any, for errors.Is and errors.As.
	Err error
}

// Error returns the message.
func (e *HTTPError) Error() string { return e.Message }

// Unwrap returns the underlying error. A nil *HTTPError unwraps to nil, so
// that errors.Is and errors.As can walk past one returned by mistake.
func (e *HTTPError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// Error returns an error that an entrypoint answers with status and body
// {"error":"<message>"}: Error(422, "bad input").
func Error(status int, message string) error {
	return &HTTPError{Status: status, Message: message}
}

// Errorf is Error with a formatted message; a %w verb wraps its operand.
func Errorf(status int, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &HTTPError{Status: status, Message: err.Error(), Err: err}
}

// PanicError is the error a panicking entrypoint, stream or WebSocket
// handler is turned into; the panic's stack is logged, not shown.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
}

// Error returns the panic value as text, as the reference answers str(e).
func (e *PanicError) Error() string { return fmt.Sprint(e.Value) }

// detailedError adds the "details" field of an error answer to a sentinel.
type detailedError struct {
	sentinel error
	details  string
}

func (e *detailedError) Error() string { return e.sentinel.Error() + ": " + e.details }
func (e *detailedError) Unwrap() error { return e.sentinel }

func withDetails(sentinel error, details string) error {
	return &detailedError{sentinel: sentinel, details: details}
}

// unknownActionError is an unknown debug action; its text is the
// reference's answer, "Unknown action: <value>".
type unknownActionError struct{ action string }

func (e *unknownActionError) Error() string { return "Unknown action: " + e.action }
func (e *unknownActionError) Unwrap() error { return ErrUnknownAction }

// errorBody is every error answer: compact JSON, details only when known.
type errorBody struct {
	Error   string `json:"error"`
	Details string `json:"details,omitempty"`
}

// answerFor decides the status and body for err.
func answerFor(err error) (int, errorBody) {
	var body errorBody
	var detailed *detailedError
	if errors.As(err, &detailed) {
		body.Details = detailed.details
	}
	if httpErr := asHTTPError(err); httpErr != nil && canAnswer(httpErr.Status) {
		body.Error = httpErr.Message
		return httpErr.Status, body
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			body.Error = row.message
			if body.Error == "" {
				body.Error = err.Error()
			}
			return row.status, body
		}
	}
	body.Error = err.Error()
	return http.StatusInternalServerError, body
}

// asHTTPError returns the *HTTPError along err's chain, nil if none (or a
// typed nil one, which chooses nothing).
func asHTTPError(err error) *HTTPError {
	var httpErr *HTTPError
	errors.As(err, &httpErr)
	return httpErr
}

// canAnswer says whether an error answer can have status: net/http panics
// outside 100..999, sends 200 after an informational 1xx (101 switches
// protocols) and drops the body of a 204 or 304. An HTTPError with another
// status is answered as a plain error: 500 with its message.
func canAnswer(status int) bool {
	return status >= 200 && status <= 999 && status != http.StatusNoContent && status != http.StatusNotModified
}

// errorType names err's kind for a stream's error event, where the reference
// writes the Python exception's class name: the first exported type name
// found along err's chain ("HTTPError", "PanicError", "PathError"), else
// "Error" (errors.New and fmt.Errorf make unexported types).
func errorType(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if r, _ := utf8.DecodeRuneInString(t.Name()); unicode.IsUpper(r) {
			return t.Name()
		}
	}
	return "Error"
}
