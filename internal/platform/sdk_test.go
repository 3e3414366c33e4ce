package platform_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagentcore"
	"github.com/aws/aws-sdk-go-v2/service/bedrockagentcore/types"
)

const testARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/agent-x"

// newClient is the real AWS SDK client, pointed at the emulator with
// static test credentials.
func newClient(base string) *bedrockagentcore.Client {
	return bedrockagentcore.New(bedrockagentcore.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(base),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
}

// The SDK's InvokeAgentRuntime reaches the seed agent through the emulator,
// and its StopRuntimeSession drains the session: the agent logs the task it
// cut and exits 0.
func TestSDKInvokeAndStop(t *testing.T) {
	t.Parallel()
	em := mustStart(t, shortConfig(seedAgent.Path(t), "-drain-timeout", "300ms"))
	client := newClient(em.Base)
	ctx := context.Background()
	id := sessionID("sdk")
	out, err := client.InvokeAgentRuntime(ctx, &bedrockagentcore.InvokeAgentRuntimeInput{
		AgentRuntimeArn:  aws.String(testARN),
		Qualifier:        aws.String("DEFAULT"),
		RuntimeSessionId: aws.String(id),
		ContentType:      aws.String("application/json"),
		Payload:          []byte(`{"action": "process", "data_id": "x", "seconds": 60}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(out.Response)
	out.Response.Close()
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.RuntimeSessionId) != id || aws.ToString(out.ContentType) != "application/json" ||
		aws.ToInt32(out.StatusCode) != 200 || !strings.Contains(string(body), `"status": "processing"`) {
		t.Fatalf("InvokeAgentRuntime: session %q, %q %d %s", aws.ToString(out.RuntimeSessionId),
			aws.ToString(out.ContentType), aws.ToInt32(out.StatusCode), body)
	}
	stopped, err := client.StopRuntimeSession(ctx, &bedrockagentcore.StopRuntimeSessionInput{
		AgentRuntimeArn: aws.String(testARN), RuntimeSessionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(stopped.RuntimeSessionId) != id {
		t.Errorf("StopRuntimeSession answered session %q", aws.ToString(stopped.RuntimeSessionId))
	}
	l := em.waitLine(t, "session ended", id)
	if l["reason"] != "stopped" || l["exit_code"] != 0.0 || l["how"] != "exited after SIGTERM" {
		t.Errorf("ended as %v", l)
	}
	if !strings.Contains(em.Agents.String(), "task did not finish before shutdown; cancelled") {
		t.Errorf("the agent's drain did not log the cut task:\n%s", em.Agents.String())
	}
}

// The SDK sees the emulator's errors as the typed errors it knows.
func TestSDKErrors(t *testing.T) {
	t.Parallel()
	em := mustStart(t, shortConfig(badAgent.Path(t)))
	client := newClient(em.Base)
	_, err := client.InvokeAgentRuntime(context.Background(), &bedrockagentcore.InvokeAgentRuntimeInput{
		AgentRuntimeArn: aws.String(testARN), RuntimeSessionId: aws.String("short"), Payload: []byte(`{}`)})
	var invalid *types.ValidationException
	if !errors.As(err, &invalid) {
		t.Errorf("short session id: %v, want a ValidationException", err)
	}
	_, err = client.StopRuntimeSession(context.Background(), &bedrockagentcore.StopRuntimeSessionInput{
		AgentRuntimeArn: aws.String(testARN), RuntimeSessionId: aws.String(sessionID("none"))})
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Errorf("stop of no session: %v, want a ResourceNotFoundException", err)
	}
}
