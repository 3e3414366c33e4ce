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
)

func TestMain(m *testing.M) {
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { seedAgent.Remove(); badAgent.Remove() }))
}
