package errtext

import (
	"strings"
	"unicode/utf8"
)

// UTF8 returns s with each run of bytes that is not UTF-8 replaced by
// U+FFFD, and s itself when it is valid: text from a client or from user
// code that goes into telemetry, whose protobuf encoding refuses a whole
// batch for one invalid string.
func UTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// UTF8Error is err with its message made UTF-8 (UTF8), or err itself when
// the message already is.
func UTF8Error(err error) error {
	msg := err.Error()
	if utf8.ValidString(msg) {
		return err
	}
	return &invalidText{msg: UTF8(msg), err: err}
}

// invalidText is an error whose message was not UTF-8, with a valid one in
// its place.
type invalidText struct {
	msg string
	err error
}

func (e *invalidText) Error() string { return e.msg }
func (e *invalidText) Unwrap() error { return e.err }
