package actors

import "sync/atomic"

// Request carries a command's answer back to its caller, and settles the
// race between a caller that stops waiting and the actor that acts on the
// command: exactly one of Take (the actor) and Withdraw (the caller)
// succeeds. An actor that cannot Take a command drops it without effect,
// and a caller that cannot Withdraw waits for the answer, so a caller is
// never told "no" for something that then happens.
//
// Queries, which change nothing, answer on a plain channel instead.
type Request[T any] struct {
	answer chan T // size 1: the actor never blocks
	state  atomic.Uint32
}

const (
	requestPending uint32 = iota
	requestTaken
	requestWithdrawn
)

// NewRequest returns a pending request.
func NewRequest[T any]() *Request[T] { return &Request[T]{answer: make(chan T, 1)} }

// Take claims the request for the actor that will act on it; false means
// the caller has withdrawn it and the command must have no effect.
func (r *Request[T]) Take() bool { return r.state.CompareAndSwap(requestPending, requestTaken) }

// Withdraw tells the actors the caller no longer waits; false means an
// actor has taken the request already, and its answer will come.
func (r *Request[T]) Withdraw() bool {
	return r.state.CompareAndSwap(requestPending, requestWithdrawn)
}

// Answer sends the answer; a nil request (nobody asked) takes none.
func (r *Request[T]) Answer(v T) {
	if r != nil {
		r.answer <- v
	}
}

// Answered delivers the answer.
func (r *Request[T]) Answered() <-chan T { return r.answer }
