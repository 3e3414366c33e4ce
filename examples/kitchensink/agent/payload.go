package agent

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/agentvisor/agentvisor/httpapi"
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

// seconds reads the optional "seconds" field: a number in [0, maxSeconds].
// It returns the duration and the number as the client wrote it.
func (p payload) seconds(def float64) (time.Duration, json.Number, error) {
	raw, ok := p["seconds"]
	if !ok {
		return secondsDuration(def), json.Number(strconv.FormatFloat(def, 'f', -1, 64)), nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0, "", badSeconds()
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > maxSeconds {
		return 0, "", badSeconds()
	}
	return secondsDuration(f), n, nil
}

func badSeconds() error {
	return httpapi.Errorf(http.StatusBadRequest, "seconds must be a number from 0 to %d", maxSeconds)
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
