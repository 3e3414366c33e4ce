package actors

import (
	"fmt"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// logPanic, deferred at the top of every actor's Receive, logs the message
// type and stack of a panic, which protoactor would otherwise drop silently,
// and panics on so that supervision decides. Only a bug in an actor's own
// code panics here: task functions run on goroutines of their own and
// report their failures by message. (A receiver middleware would do the
// same at the cost of an envelope per message.)
func logPanic(log *zerolog.Logger, self *actor.PID, msg any) {
	r := recover()
	if r == nil {
		return
	}
	log.Error().Str("actor", self.Id).Str("message_type", fmt.Sprintf("%T", msg)).
		Str("panic", fmt.Sprint(r)).Str("stack", string(debug.Stack())).Msg("actor panicked")
	panic(r)
}
