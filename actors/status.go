package actors

import "time"

// Status is the ping status an agent reports on /ping.
type Status uint8

const (
	// StatusUnset is the zero Status: no status, used where a status is optional
	// (no forced status, no custom status).
	StatusUnset Status = iota
	// Healthy means the agent is ready for work and runs nothing in the background.
	Healthy
	// HealthyBusy means background work is in progress.
	HealthyBusy
)

// String returns the status as the contract spells it: "Healthy" or "HealthyBusy".
func (s Status) String() string {
	switch s {
	case Healthy:
		return "Healthy"
	case HealthyBusy:
		return "HealthyBusy"
	default:
		return "Unset"
	}
}

// Valid reports whether s is Healthy or HealthyBusy.
func (s Status) Valid() bool { return s == Healthy || s == HealthyBusy }

// Ping is what /ping reports: the status and when it last changed.
type Ping struct {
	Status Status
	// Since is when Status last changed; it moves only when Status does.
	Since time.Time
}

// Snapshot is the state the status actor publishes after every change of the
// status, the forced status or the custom status. Readers load it without a
// round trip through the actor's mailbox.
type Snapshot struct {
	Ping
	// Forced is the status forced by the program, StatusUnset if none.
	Forced Status
	// Custom is the status the custom ping function last reported,
	// StatusUnset if there is no function or it failed.
	Custom Status
}

// resolve applies the contract's priority: forced, then custom, then automatic.
func resolve(forced, custom Status, busy bool) Status {
	switch {
	case forced != StatusUnset:
		return forced
	case custom != StatusUnset:
		return custom
	case busy:
		return HealthyBusy
	default:
		return Healthy
	}
}

// Why is the cause of a status change.
type Why uint8

// The causes of a status change.
const (
	WhyTaskStarted      Why = iota + 1 // a task started (the first, or after the others ended)
	WhyTaskEnded                       // the last task ended
	WhyForced                          // the program forced a status or cleared it
	WhyCustom                          // the custom ping function answered, failed, or was set
	WhyLongRequest                     // a long request was held as busy (HoldBusy)
	WhyLongRequestEnded                // the last long request ended
)

// String returns the cause's name as logged and shown.
func (w Why) String() string {
	switch w {
	case WhyTaskStarted:
		return "task_started"
	case WhyTaskEnded:
		return "task_ended"
	case WhyForced:
		return "forced"
	case WhyCustom:
		return "custom_ping"
	case WhyLongRequest:
		return "long_request"
	case WhyLongRequestEnded:
		return "long_request_ended"
	default:
		return "unknown"
	}
}

// StatusChange is one change of the ping status: when, from what to what,
// and why.
type StatusChange struct {
	At       time.Time
	From, To Status
	Why      Why
}

// RequestEntry is an open request that counts as busy (HoldBusy).
type RequestEntry struct {
	ID                                 uint64
	Method, Path, SessionID, RequestID string
	Started                            time.Time
}
