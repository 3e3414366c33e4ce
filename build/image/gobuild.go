package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// platform is an image's os/arch, like linux/arm64.
type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

// parsePlatforms reads a comma-separated list like linux/arm64,linux/amd64.
func parsePlatforms(s string) ([]platform, error) {
	var out []platform
	seen := map[platform]bool{}
	for item := range strings.SplitSeq(s, ",") {
		os, arch, ok := strings.Cut(strings.TrimSpace(item), "/")
		p := platform{os, arch}
		if !ok || os != "linux" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want linux/<arch>, like linux/arm64", item)
		}
		if seen[p] {
			return nil, fmt.Errorf("platform %s given twice", p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

// build is how the agent binary is compiled.
type build struct {
	goCmd   string // the go command
	src     string // the directory the package path is relative to: the repository
	pkg     string // the main package, like ./cmd/agent
	version string // stamped into main.version
	commit  string // stamped into main.commit
}

// binary compiles the agent for p into dir and returns its bytes: static
// (no cgo), without the build machine's paths or VCS state (so two clones of
// a commit build the same bytes), stripped of symbols and DWARF, with the
// zoneinfo database embedded (time/tzdata) since the image has no
// /usr/share/zoneinfo.
func (b build) binary(p platform, dir string) ([]byte, error) {
	out := filepath.Join(dir, "agent-"+p.os+"-"+p.arch)
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", b.version, b.commit)
	cmd := exec.Command(b.goCmd, "build", "-trimpath", "-buildvcs=false", "-tags=timetzdata",
		"-ldflags="+ldflags, "-o", out, b.pkg)
	cmd.Dir = b.src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s for %s: %w\n%s", b.pkg, p, err, msg)
	}
	return os.ReadFile(out)
}
