// Package leakcheck checks the project's test binaries for goroutines left
// behind, with what every package must ignore.
package leakcheck

import (
	"testing"

	"go.uber.org/goleak"
)

// deadLetterThrottle is the goroutine protoactor starts to throttle
// dead-letter logging: it lives for the throttle interval, 1 s, after a dead
// letter (a stop racing a child that already stopped makes one), and nothing
// can stop it early. Its name depends on inlining.
var deadLetterThrottle = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.NewThrottle.func1.1"),
}

// VerifyTestMain runs the tests of m and then fails the binary if goroutines
// are left, other than protoactor's dead-letter throttle and those options
// ignore.
func VerifyTestMain(m *testing.M, options ...goleak.Option) {
	goleak.VerifyTestMain(m, append(options, deadLetterThrottle...)...)
}
