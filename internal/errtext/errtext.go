// Package errtext reads the message of an error that came from user code
// without trusting it: a typed nil pointer whose Error method reads its
// receiver panics, and that panic must not reach a logger, a recover that
// prints it, or the actor system.
package errtext

import "fmt"

// Safe returns an error whose Error method cannot panic: err itself when its
// message reads without a panic (so errors.Is and errors.As see it as it is),
// else an error that wraps err and names its type and the panic. It returns
// nil for a nil interface.
func Safe(err error) error {
	if err == nil {
		return nil
	}
	msg, ok := read(err)
	if ok {
		return err
	}
	return &unreadable{msg: msg, err: err}
}

func read(err error) (msg string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			msg, ok = fmt.Sprintf("%T (its Error method panicked: %v)", err, r), false
		}
	}()
	return err.Error(), true
}

// unreadable is an error whose own Error method panics, with the message
// read in its place.
type unreadable struct {
	msg string
	err error
}

func (u *unreadable) Error() string { return u.msg }
func (u *unreadable) Unwrap() error { return u.err }
