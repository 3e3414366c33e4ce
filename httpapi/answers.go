package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/rs/zerolog/hlog"
)

// Marshal encodes v the way the reference SDK writes success bodies and
// stream items (Python's json.dumps(v, ensure_ascii=False)): ", " and ": "
// separators, raw UTF-8, no HTML escaping, floats as Python prints them.
// Struct fields keep their declaration order and a json.RawMessage keeps its
// key order; Go maps are written with sorted keys.
func Marshal(v any) ([]byte, error) { return marshal(v, true) }

// MarshalCompact encodes v like Marshal but without spaces, as the reference
// writes /ping, debug actions and error bodies (Starlette's JSONResponse).
func MarshalCompact(v any) ([]byte, error) { return marshal(v, false) }

// jsonContentType is shared by every JSON answer; /ping sets it without
// allocating a new slice.
var jsonContentType = []string{"application/json"}

// writeJSON writes a complete JSON answer.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a client that left is not an error worth more than the access log
}

// writeResult answers 200 with the result in the reference's spaced JSON.
func writeResult(w http.ResponseWriter, r *http.Request, result any) {
	body, err := Marshal(result)
	if err != nil {
		writeError(w, r, fmt.Errorf("encode result: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// writeDebugJSON answers 200 with v as compact JSON, never cached: the
// tree is live.
func writeDebugJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := MarshalCompact(v)
	if err != nil {
		writeError(w, r, fmt.Errorf("encode debug answer: %w", err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

// writeError answers err with the status and compact body errorTable gives
// it (every error answer goes through here), and logs server-side failures
// but those logged where they happened (ErrInternal, a panic's) and the
// drain's refusals.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := answerFor(err)
	if status >= http.StatusInternalServerError && !errors.Is(err, ErrDraining) && !errors.Is(err, ErrInternal) {
		ev := hlog.FromRequest(r).Error().Err(err).Int("status", status)
		if httpErr := asHTTPError(err); httpErr != nil && httpErr.Status != status {
			ev = ev.Int("invalid_status", httpErr.Status) // the entrypoint's mistake, answered 500
		}
		ev.Msg("request failed")
	}
	b, err := MarshalCompact(body)
	if err != nil { // two strings always encode
		panic(fmt.Sprintf("httpapi: encode error body: %v", err))
	}
	writeJSON(w, status, b)
}

func marshal(v any, spaced bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return reformat(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), spaced), nil
}

// reformat rewrites valid JSON in the reference's style. Go's encoder gets
// close but differs in three ways that clients can see: no spaces after
// separators, \u2028 and \u2029 escaped, and 1e+06 where Python writes
// 1000000.0. Whitespace in src is dropped, escapes are decoded and written
// back only where Python escapes, and numbers are normalized.
func reformat(src []byte, spaced bool) []byte {
	out := make([]byte, 0, len(src)+len(src)/8+8)
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '"':
			var n int
			out, n = appendPyString(out, src[i:])
			i += n
		case c == ':' || c == ',':
			out = append(out, c)
			if spaced {
				out = append(out, ' ')
			}
			i++
		case c == '-' || (c >= '0' && c <= '9'):
			n := numberLen(src[i:])
			out = appendPyNumber(out, src[i:i+n])
			i += n
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

// appendPyString appends the JSON string that s starts with and returns how
// many bytes of s it used.
func appendPyString(out, s []byte) ([]byte, int) {
	out = append(out, '"')
	for i := 1; i < len(s); {
		switch c := s[i]; {
		case c == '"':
			return append(out, '"'), i + 1
		case c == '\\':
			r, n := decodeEscape(s[i:])
			out = appendPyRune(out, r)
			i += n
		case c < utf8.RuneSelf:
			out = appendPyRune(out, rune(c))
			i++
		default:
			// An invalid byte decodes as utf8.RuneError and is written as
			// U+FFFD, as Go's encoder does.
			r, n := utf8.DecodeRune(s[i:])
			out = utf8.AppendRune(out, r)
			i += n
		}
	}
	return out, len(s)
}

// decodeEscape decodes the escape sequence s starts with.
func decodeEscape(s []byte) (rune, int) {
	if len(s) < 2 {
		return utf8.RuneError, len(s)
	}
	switch s[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		return decodeUnicodeEscape(s)
	default: // '"', '\\', '/'
		return rune(s[1]), 2
	}
}

func decodeUnicodeEscape(s []byte) (rune, int) {
	r, ok := hex4(s, 2)
	if !ok {
		return utf8.RuneError, min(len(s), 2)
	}
	if r < 0xD800 || r > 0xDFFF {
		return r, 6
	}
	if r <= 0xDBFF && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
		if lo, ok := hex4(s, 8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000, 12
		}
	}
	return utf8.RuneError, 6 // a lone surrogate has no UTF-8 form
}

func hex4(s []byte, at int) (rune, bool) {
	if len(s) < at+4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[at:at+4]), 16, 16)
	return rune(v), err == nil
}

// appendPyRune writes r as Python's json module does with ensure_ascii=False.
func appendPyRune(out []byte, r rune) []byte {
	switch r {
	case '"':
		return append(out, '\\', '"')
	case '\\':
		return append(out, '\\', '\\')
	case '\n':
		return append(out, '\\', 'n')
	case '\r':
		return append(out, '\\', 'r')
	case '\t':
		return append(out, '\\', 't')
	case '\b':
		return append(out, '\\', 'b')
	case '\f':
		return append(out, '\\', 'f')
	}
	if r < 0x20 {
		const hex = "0123456789abcdef"
		return append(out, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xF])
	}
	return utf8.AppendRune(out, r)
}

func numberLen(s []byte) int {
	n := 0
	for n < len(s) && bytes.IndexByte([]byte("+-0123456789.eE"), s[n]) >= 0 {
		n++
	}
	return n
}

// appendPyNumber writes a JSON number as Python would after loading it:
// integers as written (Python's int has no limit), -0 as 0, floats in
// Python's repr. A float out of float64's range is kept as written, where
// Python would write the invalid token Infinity.
func appendPyNumber(out, lit []byte) []byte {
	if bytes.IndexAny(lit, ".eE") < 0 {
		if string(lit) == "-0" {
			return append(out, '0')
		}
		return append(out, lit...)
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return append(out, lit...)
	}
	return appendPyFloat(out, f)
}

// appendPyFloat writes f as Python's repr does: the shortest digits that
// round-trip, positional with a ".0" for exponents in [-4, 16), else
// scientific with a signed two-digit exponent (1e-05, 1.5e+16).
func appendPyFloat(out []byte, f float64) []byte {
	sci := strconv.AppendFloat(nil, f, 'e', -1, 64)
	e := bytes.IndexByte(sci, 'e')
	exp, _ := strconv.Atoi(string(sci[e+1:]))
	if exp < -4 || exp >= 16 {
		return append(out, sci...) // Go's 'e' format already matches repr here
	}
	start := len(out)
	out = strconv.AppendFloat(out, f, 'f', -1, 64)
	if bytes.IndexByte(out[start:], '.') < 0 {
		out = append(out, '.', '0')
	}
	return out
}
