package errtext_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/agentvisor/agentvisor/internal/errtext"
)

// readsReceiver is the classic typed-nil trap: Error reads its receiver.
type readsReceiver struct{ msg string }

func (e *readsReceiver) Error() string { return e.msg }

func TestSafe(t *testing.T) {
	if errtext.Safe(nil) != nil {
		t.Fatal("Safe(nil) is not nil")
	}
	plain := errors.New("boom")
	if got := errtext.Safe(plain); got != plain {
		t.Fatalf("Safe of a readable error = %v, want the error itself", got)
	}
	var typedNil *readsReceiver
	safe := errtext.Safe(typedNil)
	if !strings.Contains(safe.Error(), "its Error method panicked") {
		t.Fatalf("Safe(typed nil).Error() = %q", safe.Error())
	}
	var target *readsReceiver
	if !errors.As(safe, &target) {
		t.Fatal("Safe(typed nil) does not wrap the original error")
	}
}
