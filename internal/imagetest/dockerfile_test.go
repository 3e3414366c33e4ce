package imagetest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// instruction is one line of a Dockerfile, its continuations joined.
type instruction struct{ cmd, args string }

// lastStage is the instructions of the Dockerfile's final stage, from its FROM.
func lastStage(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var all []instruction
	var line string
	for raw := range strings.SplitSeq(string(b), "\n") {
		raw = strings.TrimSpace(raw)
		if line == "" && (raw == "" || strings.HasPrefix(raw, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(raw, `\`); ok {
			line += cont + " "
			continue
		}
		cmd, args, _ := strings.Cut(line+raw, " ")
		all = append(all, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		line = ""
	}
	last := -1
	for i, in := range all {
		if in.cmd == "FROM" {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("Dockerfile without FROM")
	}
	return all[last:]
}

// The Dockerfile's image is the one make image builds: its last stage is
// scratch plus build/image's file tree, and it states the same user, port,
// environment and entrypoint as the image's config.
func TestDockerfileAgreesWithTheImage(t *testing.T) {
	cfg := mustImage(t).config.Config
	var ports []string
	for p := range cfg.ExposedPorts {
		ports = append(ports, strings.TrimSuffix(p, "/tcp"))
	}
	entrypoint, _ := json.Marshal(cfg.Entrypoint)
	want := []instruction{
		{"FROM", "scratch"},
		{"COPY", "--from=build /rootfs/ /"},
		{"USER", cfg.User},
		{"EXPOSE", strings.Join(ports, " ")},
		{"ENV", strings.Join(cfg.Env, " ")},
		{"ENTRYPOINT", strings.ReplaceAll(string(entrypoint), ",", ", ")},
	}
	got := lastStage(t)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("the Dockerfile's last stage lacks %s %s; it has %v", w.cmd, w.args, got)
		}
	}
	for _, in := range got {
		if in.cmd == "LABEL" {
			for key := range cfg.Labels {
				if !strings.Contains(in.args, key+"=") {
					t.Errorf("the Dockerfile does not label %s", key)
				}
			}
		}
	}
}

// Where a Docker daemon answers, the Dockerfile builds an arm64 image whose
// config says what make image's says. Elsewhere (CI has no daemon) it
// skips, saying so.
func TestDockerfileBuilds(t *testing.T) {
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers, so the Dockerfile is not built (docker version: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	want := mustImage(t).config
	tag := "agentvisor-imagetest:" + rand.Text()[:12]
	build := exec.Command("docker", "build", "--platform", "linux/arm64",
		"--build-arg", "VERSION="+stampVersion, "--build-arg", "COMMIT="+stampCommit, "-t", tag, "../..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", tag).Run() })
	out, err := exec.Command("docker", "image", "inspect", "--format",
		"{{.Os}}/{{.Architecture}} {{.Config.User}} {{json .Config.Entrypoint}} {{json .Config.ExposedPorts}}", tag).Output()
	if err != nil {
		t.Fatalf("docker image inspect: %v", err)
	}
	ports, _ := json.Marshal(want.Config.ExposedPorts)
	entrypoint, _ := json.Marshal(want.Config.Entrypoint)
	if got, w := strings.TrimSpace(string(out)), fmt.Sprintf("%s/%s %s %s %s", want.OS, want.Architecture,
		want.Config.User, entrypoint, ports); got != w {
		t.Fatalf("docker image inspect: %s, want %s", got, w)
	}
}
