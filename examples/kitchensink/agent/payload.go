package agent

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

// payload is an invocation payload's top-level fields; empty when the
// payload is not an object. A map rather than a struct, because
// encoding/json matches struct fields ignoring case and the reference's
// Python dict does not.
type payload map[string]json.RawMessage

func parsePayload(raw json.RawMessage) payload {
	var p payload
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	return p
}

// action is the "action" field if it is a string.
func (p payload) action() string {
	var s string
	if json.Unmarshal(p["action"], &s) != nil {
		return ""
	}
	return s
}

// value is the field decoded (numbers as json.Number), or def when absent.
func (p payload) value(key string, def any) any {
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
func (p payload) number(key string) (json.Number, bool) {
	n, ok := p.value(key, nil).(json.Number)
	return n, ok
}

// seconds reads the optional "seconds" field: a number in [0, maxSeconds].
// It returns the duration and the number as the client wrote it.
func (p payload) seconds(def float64) (time.Duration, json.Number, error) {
	if _, ok := p["seconds"]; !ok {
		return secondsDuration(def), json.Number(strconv.FormatFloat(def, 'f', -1, 64)), nil
	}
	n, ok := p.number("seconds")
	f, err := n.Float64()
	if !ok || err != nil || f < 0 || f > maxSeconds {
		return 0, "", badSeconds()
	}
	return secondsDuration(f), n, nil
}

// taskID reads the "task_id" field: any JSON integer, written without a
// fraction or exponent. ok is false for an integer that no task can have
// (negative, or beyond uint64), which completes nothing.
func (p payload) taskID() (id supervisor.TaskID, ok bool, err error) {
	n, isNumber := p.number("task_id")
	if !isNumber || strings.ContainsAny(string(n), ".eE") {
		return 0, false, httpapi.Error(http.StatusBadRequest, "task_id must be a JSON integer")
	}
	u, err := strconv.ParseUint(string(n), 10, 64)
	return supervisor.TaskID(u), err == nil, nil
}

func badSeconds() error {
	return httpapi.Errorf(http.StatusBadRequest, "seconds must be a JSON number from 0 to %d", maxSeconds)
}

func secondsDuration(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

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
