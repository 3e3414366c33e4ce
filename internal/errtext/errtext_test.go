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

func TestUTF8(t *testing.T) {
	for in, want := range map[string]string{"ok": "ok", "a\xffb\xfe\xfdc": "a\uFFFDb\uFFFDc", "": ""} {
		if got := errtext.UTF8(in); got != want {
			t.Errorf("UTF8(%q) = %q, want %q", in, got, want)
		}
	}
	base := errors.New("bad \xff")
	err := errtext.UTF8Error(base)
	if err.Error() != "bad \uFFFD" || !errors.Is(err, base) {
		t.Errorf("UTF8Error: %q (is base: %v)", err, errors.Is(err, base))
	}
	if valid := errors.New("fine"); errtext.UTF8Error(valid) != valid {
		t.Error("UTF8Error changed a valid error")
	}
}
