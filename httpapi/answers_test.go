package httpapi_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/agentvisor/agentvisor/httpapi"
)

func TestMarshal(t *testing.T) {
	tests := []struct {
		name        string
		in          any
		wantSpaced  string // Python: json.dumps(v, ensure_ascii=False)
		wantCompact string // Python: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
	}{
		{"object keeps struct order", struct {
			B int    `json:"b"`
			A string `json:"a"`
		}{1, "x"}, `{"b": 1, "a": "x"}`, `{"b":1,"a":"x"}`},
		{"raw message keeps key order and drops whitespace", json.RawMessage(`{ "z" : [1 ,2], "a":{} }`), `{"z": [1, 2], "a": {}}`, `{"z":[1,2],"a":{}}`},
		{"raw UTF-8, no HTML escaping", "é <b>&</b> 😀", `"é <b>&</b> 😀"`, `"é <b>&</b> 😀"`},
		{"line separators raw", "a\u2028b\u2029", "\"a\u2028b\u2029\"", "\"a\u2028b\u2029\""},
		{"control characters", "\"\\\n\r\t\b\f\x01\x7f", `"\"\\\n\r\t\b\f\u0001` + "\x7f\"", `"\"\\\n\r\t\b\f\u0001` + "\x7f\""},
		{"escapes in raw input decoded", json.RawMessage(`"\u00e9\/\ud83d\ude00\ud800"`), `"é/😀` + "\uFFFD\"", `"é/😀` + "\uFFFD\""},
		{"separators inside strings untouched", "a, b: c", `"a, b: c"`, `"a, b: c"`},
		{"floats as Python prints them", []float64{0.25, 1e21, 1e-7, 123456.5, 0.0001}, `[0.25, 1e+21, 1e-07, 123456.5, 0.0001]`, `[0.25,1e+21,1e-07,123456.5,0.0001]`},
		// A known deviation (docs/decisions.md): Go's encoder writes an
		// integral float64 below 1e21 as an integer, and Python writes 2.0.
		{"integral floats look like integers", []float64{2, 1.5e16}, `[2, 15000000000000000]`, `[2,15000000000000000]`},
		{"float literals normalized", json.RawMessage(`[1.0, 1E5, -0, -0.0, 10, 1e400]`), `[1.0, 100000.0, 0, -0.0, 10, 1e400]`, `[1.0,100000.0,0,-0.0,10,1e400]`},
		{"big integers kept", json.RawMessage(`123456789012345678901234567890`), `123456789012345678901234567890`, `123456789012345678901234567890`},
		{"nil is null", nil, `null`, `null`},
		{"empty containers", map[string][]int{"a": {}}, `{"a": []}`, `{"a":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spaced, err := httpapi.Marshal(tt.in)
			if err != nil || string(spaced) != tt.wantSpaced {
				t.Errorf("Marshal = %s, %v; want %s", spaced, err, tt.wantSpaced)
			}
			compact, err := httpapi.MarshalCompact(tt.in)
			if err != nil || string(compact) != tt.wantCompact {
				t.Errorf("MarshalCompact = %s, %v; want %s", compact, err, tt.wantCompact)
			}
		})
	}
}

func TestMarshal_Unsupported(t *testing.T) {
	for _, v := range []any{math.NaN(), make(chan int)} {
		if b, err := httpapi.Marshal(v); err == nil {
			t.Errorf("Marshal(%T) = %s, want an error", v, b)
		}
	}
}

func ExampleMarshal() {
	b, _ := httpapi.Marshal(map[string]any{"echo": json.RawMessage(`{"b":1,"a":"<é>"}`), "n": 2.5})
	fmt.Println(string(b))
	// Output: {"echo": {"b": 1, "a": "<é>"}, "n": 2.5}
}

func ExampleMarshalCompact() {
	b, _ := httpapi.MarshalCompact(struct {
		Error string `json:"error"`
	}{"bad input"})
	fmt.Println(string(b))
	// Output: {"error":"bad input"}
}
