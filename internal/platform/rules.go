package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The two statuses of the contract. Any other string is reported as it is
// and treated as not busy.
const (
	statusHealthy     = "Healthy"
	statusHealthyBusy = "HealthyBusy"
)

// pingAnswer is one /ping answer as the platform reads it.
type pingAnswer struct {
	// Status is the reported status, whatever string it is.
	Status string
	// Updated is time_of_last_update, when Stamped.
	Updated time.Time
	// Stamped is true when time_of_last_update is a JSON integer: a missing
	// field, a string (ISO time) or a fraction does not count.
	Stamped bool
	// Raw is time_of_last_update as written, for the logs.
	Raw string
}

// errBadPing is a 200 from /ping whose body the platform cannot read.
var errBadPing = errors.New("unreadable /ping answer")

// parsePing reads a /ping body. Only a body that is not a JSON object, or
// whose status is not a string, is an error (a failed ping); a bad
// time_of_last_update is an answer that does not hold the session.
func parsePing(body []byte) (pingAnswer, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return pingAnswer{}, fmt.Errorf("%w: %w", errBadPing, err)
	}
	var a pingAnswer
	if err := json.Unmarshal(fields["status"], &a.Status); err != nil {
		return pingAnswer{}, fmt.Errorf("%w: status %s is not a string", errBadPing, fields["status"])
	}
	raw := bytes.TrimSpace(fields["time_of_last_update"])
	a.Raw = string(raw)
	if secs, ok := jsonInteger(raw); ok {
		a.Updated, a.Stamped = time.Unix(secs, 0), true
	}
	return a, nil
}

// jsonInteger reads a JSON number written as an integer: no fraction, no
// exponent, no quotes, as the Python SDK's int() writes it.
func jsonInteger(raw []byte) (int64, bool) {
	if len(raw) == 0 || bytes.ContainsAny(raw, `".eE`) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// idleClock is where a session's idle clock runs from, given its last
// invocation's arrival and its last /ping answer (answered false before the
// first), or held when the answer keeps the session alive: HealthyBusy with
// a valid time. A request in flight plays no part: the platform ends a turn
// that outlasts the idle timeout while /ping says Healthy.
func idleClock(lastInvocation time.Time, last pingAnswer, answered bool) (from time.Time, held bool) {
	if !answered || !last.Stamped {
		return lastInvocation, false // measured: a missing or ISO time holds nothing
	}
	if last.Status == statusHealthyBusy {
		return time.Time{}, true
	}
	if last.Updated.After(lastInvocation) {
		return last.Updated, false
	}
	return lastInvocation, false
}
