// Package actors is the cast behind agentvisor's ping status: one status actor
// that owns the task registry and the status, one task supervisor actor that is
// the parent of every task actor, and one task actor per tracked task.
//
// Nothing outside this module should need it directly: the supervisor package
// wraps it in a Go API. Messages are commands (imperative names, sent to an
// actor) or events (past-tense names, reporting what happened). A query
// carries a buffered reply channel of size one, so the answering actor never
// blocks; a command carries a Request, which its caller may withdraw until an
// actor takes it.
package actors
