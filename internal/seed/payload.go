package seed

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentvisor/agentvisor/httpapi"
	"github.com/agentvisor/agentvisor/supervisor"
)

// maxSeconds bounds the seconds field: a day is longer than any session.
const maxSeconds = 86400

// Payload is an invocation payload's top-level fields; empty when the
// payload is not an object. A map rather than a struct, because
// encoding/json matches struct fields ignoring case and the reference's
// Python dict does not.
type Payload map[string]json.RawMessage

// ParsePayload reads a payload's fields; nil for a payload that is not an
// object.
func ParsePayload(raw json.RawMessage) Payload {
	var p Payload
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	return p
}

// Action is the "action" field if it is a string.
func (p Payload) Action() string {
	var s string
	if json.Unmarshal(p["action"], &s) != nil {
		return ""
	}
	return s
}

// Value is the field decoded (numbers as json.Number), or def when absent.
func (p Payload) Value(key string, def any) any {
	raw, ok := p[key]
	if !ok {
		return def
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return def
	}
	return v
}

// number is the field if it is a JSON number, as written. Unmarshalling
// into a json.Number would also take a string holding a number ("2").
func (p Payload) number(key string) (json.Number, bool) {
	n, ok := p.Value(key, nil).(json.Number)
	return n, ok
}

// Seconds reads the optional "seconds" field: a JSON number in [0, 86400],
// else a 400. It returns the duration and the number as the client wrote it.
func (p Payload) Seconds(def float64) (time.Duration, json.Number, error) {
	if _, ok := p["seconds"]; !ok {
		return secondsDuration(def), json.Number(strconv.FormatFloat(def, 'f', -1, 64)), nil
	}
	n, ok := p.number("seconds")
	f, err := n.Float64()
	if !ok || err != nil || f < 0 || f > maxSeconds {
		return 0, "", httpapi.Errorf(http.StatusBadRequest, "seconds must be a JSON number from 0 to %d", maxSeconds)
	}
	return secondsDuration(f), n, nil
}

func secondsDuration(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// TaskID reads the "task_id" field: any JSON integer, written without a
// fraction or exponent, else a 400. ok is false for an integer that no task
// can have (negative, or beyond uint64).
func (p Payload) TaskID() (id supervisor.TaskID, ok bool, err error) {
	n, isNumber := p.number("task_id")
	if !isNumber || strings.ContainsAny(string(n), ".eE") {
		return 0, false, httpapi.Error(http.StatusBadRequest, "task_id must be a JSON integer")
	}
	u, err := strconv.ParseUint(string(n), 10, 64)
	return supervisor.TaskID(u), err == nil, nil
}

// display writes a data_id in a message: a string as it is, anything else as
// its JSON.
func display(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := httpapi.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
