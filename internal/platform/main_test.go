package platform_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/proctest"
)

// The agents under test, built once.
var (
	seedAgent = proctest.NewBinary("github.com/agentvisor/agentvisor/cmd/agent")
	badAgent  = proctest.NewBinary("./testdata/badagent")
	// streamAgent streams its answers, with httpapi.Config.BusyAfter from a flag.
	streamAgent = proctest.NewBinary("./testdata/streamagent")
)

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { seedAgent.Remove(); badAgent.Remove(); streamAgent.Remove() }))
}
