package imagetest

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/agentvisor/agentvisor/internal/leakcheck"
	"github.com/agentvisor/agentvisor/internal/proctest"
	"github.com/agentvisor/agentvisor/internal/testkit"
)

// What the test build stamps, and the time stamp it gives.
const (
	stampVersion = "v0.0.0-imagetest"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567"
	stampEpoch   = 1700000000
)

// workDir holds the layouts the tests build; TestMain makes and removes it.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagetest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	leakcheck.VerifyTestMain(m, goleak.Cleanup(func(int) { _ = os.RemoveAll(dir) }))
}

// makeImage runs `make image` for linux/arm64 alone (the platform
// AgentCore Runtime runs) into the OCI layout out, with the test's stamps.
// An outer make's flags are dropped: a PUSH given to `make test` must not
// reach it.
func makeImage(out string) ([]byte, error) {
	if _, err := exec.LookPath("make"); err != nil {
		return nil, err
	}
	cmd := exec.Command("make", "-C", "../..", "--no-print-directory", "image", "IMAGE_PLATFORMS=linux/arm64",
		"IMAGE_OUT="+out, "PUSH=", "VERSION="+stampVersion, "COMMIT="+stampCommit, fmt.Sprint("SOURCE_DATE_EPOCH=", stampEpoch))
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd.CombinedOutput()
}

// built is the image the tests share, built on first use.
var built = sync.OnceValues(func() ([]byte, error) { return makeImage(filepath.Join(workDir, "oci")) })

// mustImage is the linux/arm64 image of the shared layout.
func mustImage(t *testing.T) *image {
	t.Helper()
	out, err := built()
	if err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	return readImage(t, layout(filepath.Join(workDir, "oci")))
}

// descriptor points at a blob of a layout (OCI image spec).
type descriptor struct {
	MediaType string    `json:"mediaType"`
	Digest    string    `json:"digest"`
	Size      int64     `json:"size"`
	Platform  *platform `json:"platform,omitempty"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

type index struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"`
}

type manifest struct {
	MediaType string       `json:"mediaType"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
}

// imageConfig is the part of an image's config a runtime reads.
type imageConfig struct {
	OS           string    `json:"os"`
	Architecture string    `json:"architecture"`
	Created      time.Time `json:"created"`
	Config       struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Env          []string            `json:"Env"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// layout is an OCI image layout directory.
type layout string

// blob reads what d points at, checking its size and digest.
func (l layout) blob(t *testing.T, d descriptor) []byte {
	t.Helper()
	hexDigest, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		t.Fatalf("digest %q: want sha256", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(string(l), "blobs", "sha256", hexDigest))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexDigest || int64(len(b)) != d.Size {
		t.Fatalf("blob %s: %d bytes with sha256 %x, want %d", d.Digest, len(b), sum, d.Size)
	}
	return b
}

func (l layout) json(t *testing.T, d descriptor, v any) {
	t.Helper()
	if err := json.Unmarshal(l.blob(t, d), v); err != nil {
		t.Fatalf("%s: %v", d.Digest, err)
	}
}

// image is one platform's image of a layout.
type image struct {
	layout   layout
	index    index
	manifest manifest
	config   imageConfig
}

// readImage reads the layout's index and the one image it must hold.
func readImage(t *testing.T, l layout) *image {
	t.Helper()
	img := &image{layout: l}
	b, err := os.ReadFile(filepath.Join(string(l), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &img.index); err != nil {
		t.Fatal(err)
	}
	if len(img.index.Manifests) != 1 {
		t.Fatalf("index of %d manifests, want the one of linux/arm64: %s", len(img.index.Manifests), b)
	}
	l.json(t, img.index.Manifests[0], &img.manifest)
	l.json(t, img.manifest.Config, &img.config)
	return img
}

// The index, manifest and config say what AgentCore Runtime needs: an OCI
// image for linux/arm64 that starts the agent as a user other than root and
// exposes 8080, with the version and commit in its labels.
func TestImageConfig(t *testing.T) {
	img := mustImage(t)
	c := img.config
	desc := img.index.Manifests[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"index media type", img.index.MediaType, "application/vnd.oci.image.index.v1+json"},
		{"index platform", *desc.Platform, platform{OS: "linux", Architecture: "arm64"}},
		{"manifest media type", img.manifest.MediaType, "application/vnd.oci.image.manifest.v1+json"},
		{"config media type", img.manifest.Config.MediaType, "application/vnd.oci.image.config.v1+json"},
		{"config platform", c.OS + "/" + c.Architecture, "linux/arm64"},
		{"entrypoint", c.Config.Entrypoint, []string{"/agent"}},
		{"cmd", c.Config.Cmd, []string(nil)},
		{"user", c.Config.User, "65532:65532"},
		{"exposed ports", c.Config.ExposedPorts, map[string]struct{}{"8080/tcp": {}}},
		{"version label", c.Config.Labels["org.opencontainers.image.version"], stampVersion},
		{"revision label", c.Config.Labels["org.opencontainers.image.revision"], stampCommit},
		{"created", c.Created, time.Unix(stampEpoch, 0).UTC()},
	}
	for _, ck := range checks {
		if fmt.Sprint(ck.got) != fmt.Sprint(ck.want) {
			t.Errorf("%s: %v, want %v", ck.what, ck.got, ck.want)
		}
	}
	for _, kv := range c.Config.Env {
		if name, _, _ := strings.Cut(kv, "="); name == "PORT" || name == "ADDR" {
			t.Errorf("env %s: the agent must listen on its default, 0.0.0.0:8080", kv)
		}
	}
	for _, l := range img.manifest.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Errorf("layer %s: media type %s", l.Digest, l.MediaType)
		}
	}
}

// file is one entry of the unpacked image.
type file struct {
	header *tar.Header
	data   []byte
}

// files unpacks the layers in order, checking each against its diff_id.
func (img *image) files(t *testing.T) map[string]file {
	t.Helper()
	if len(img.manifest.Layers) != len(img.config.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff_ids", len(img.manifest.Layers), len(img.config.RootFS.DiffIDs))
	}
	out := map[string]file{}
	for i, l := range img.manifest.Layers {
		zr, err := gzip.NewReader(strings.NewReader(string(img.layout.blob(t, l))))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		tr := tar.NewReader(io.TeeReader(zr, h))
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[strings.TrimSuffix(hdr.Name, "/")] = file{hdr, data}
		}
		_, _ = io.Copy(h, zr) // the tar's end blocks
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != img.config.RootFS.DiffIDs[i] {
			t.Fatalf("layer %d: uncompressed digest %s, diff_id %s", i, got, img.config.RootFS.DiffIDs[i])
		}
	}
	return out
}

// The image holds the agent and what it needs besides, nothing else: a
// user database naming 65532, CA roots crypto/x509 can read, a /tmp anyone
// may write to; all owned by root, and no other place writable.
func TestImageFiles(t *testing.T) {
	files := mustImage(t).files(t)
	var names []string
	for name, f := range files {
		names = append(names, name)
		if f.header.Uid != 0 || f.header.Gid != 0 {
			t.Errorf("%s: owned by %d:%d, want root", name, f.header.Uid, f.header.Gid)
		}
		if mode := f.header.FileInfo().Mode(); mode&0o022 != 0 && name != "tmp" {
			t.Errorf("%s: mode %s, writable by others than root", name, mode)
		}
	}
	slices.Sort(names)
	want := []string{"agent", "etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt", "tmp"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %q, want %q", names, want)
	}
	if mode := files["tmp"].header.FileInfo().Mode(); mode != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("/tmp: mode %s, want drwxrwxrwt", mode)
	}
	if mode := files["agent"].header.FileInfo().Mode(); mode != 0o755 {
		t.Errorf("/agent: mode %s, want -rwxr-xr-x", mode)
	}
	if !strings.Contains(string(files["etc/passwd"].data), "\nnonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the image's user:\n%s", files["etc/passwd"].data)
	}
	roots := 0
	for block, rest := pem.Decode(files["etc/ssl/certs/ca-certificates.crt"].data); block != nil; block, rest = pem.Decode(rest) {
		roots++
	}
	if roots < 100 {
		t.Errorf("%d CA certificates, want Mozilla's 100 and more", roots)
	}
}

// mustAgent writes the image's /agent to a file and returns its path.
func mustAgent(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent")
	if err := os.WriteFile(path, mustImage(t).files(t)["agent"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// /agent is an arm64 executable built as the issue asks: static (no
// interpreter, no cgo), stripped, without the build machine's paths, with
// the zoneinfo database inside, since the image has no /usr/share/zoneinfo.
// (-trimpath keeps -ldflags out of the build info: TestImageRunsOnArm64
// reads the stamps with -version.)
func TestImageBinary(t *testing.T) {
	path := mustAgent(t)
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("machine %s, want EM_AARCH64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %s: want a static binary", p.Type)
		}
	}
	if f.Section(".symtab") != nil || f.Section(".debug_info") != nil {
		t.Error("symbols or DWARF left in: want it stripped (-s -w)")
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "-tags": "timetzdata", "GOOS": "linux", "GOARCH": "arm64"} {
		if settings[key] != want {
			t.Errorf("build setting %s=%q, want %q", key, settings[key], want)
		}
	}
}

// emulator is the command that runs an arm64 binary here: none on arm64,
// else Debian's qemu-aarch64-static, which needs no binfmt registration.
// Without it the test skips, saying why, or fails under CI, which installs
// it (.ci/run).
func emulator(t *testing.T) []string {
	t.Helper()
	if runtime.GOARCH == "arm64" {
		return nil
	}
	path, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("qemu-aarch64-static not found under CI: apt-get install qemu-user-static (.ci/run does): %v", err)
		}
		t.Skipf("qemu-aarch64-static not found: apt-get install qemu-user-static to run the arm64 image's binary (%v)", err)
	}
	return []string{path}
}

// arm64Command runs the image's agent with args, under emu.
func arm64Command(emu []string, agent string, args ...string) *exec.Cmd {
	argv := append(slices.Clone(emu), append([]string{agent}, args...)...)
	return exec.Command(argv[0], argv[1:]...)
}

// The arm64 agent, as the image starts it (no flags: the platform gives
// none), under qemu: -version says the stamps; it listens on 0.0.0.0 at
// PORT, /ping says Healthy, an invocation starts a task (HealthyBusy), and
// SIGTERM drains it (cut by a 1 s drain timeout) and exits 0.
func TestImageRunsOnArm64(t *testing.T) {
	emu := emulator(t)
	agent := mustAgent(t)
	out, err := arm64Command(emu, agent, "-version").CombinedOutput()
	if want := fmt.Sprintf("agent %s (commit %s, ", stampVersion, stampCommit); err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("agent -version: %v %q, want it to start with %q", err, out, want)
	}

	_, port, _ := net.SplitHostPort(proctest.FreeAddr(t))
	cmd := arm64Command(emu, agent)
	cmd.Env = append(os.Environ(), "PORT="+port, "AGENT_DRAIN_TIMEOUT=1s")
	p := proctest.Start(t, cmd, "http://127.0.0.1:"+port)
	// The agent answers before its output has surely been read.
	testkit.Eventually(t, "the listening line", func() bool { return len(p.Lines("listening")) > 0 })
	if lines := p.Lines("listening"); len(lines) != 1 || lines[0]["addr"] != "0.0.0.0:"+port {
		t.Fatalf("listening lines %v, want one at 0.0.0.0:%s", lines, port)
	}
	if status, body := p.Get("/ping"); status != http.StatusOK || !strings.Contains(body, `"status":"Healthy"`) {
		t.Fatalf("/ping: %d %s, want Healthy", status, body)
	}
	if status, body := p.Invoke(t, `{"action": "process", "data_id": "arm64", "seconds": 600}`); status != http.StatusOK ||
		!strings.Contains(body, "Started processing arm64") {
		t.Fatalf("invocation: %d %s", status, body)
	}
	if _, body := p.Get("/ping"); !strings.Contains(body, `"status":"HealthyBusy"`) {
		t.Fatalf("/ping with a task running: %s, want HealthyBusy", body)
	}
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; logs:\n%s", code, p.Logs.String())
	}
	if len(p.Lines("tasks cut by the drain timeout")) != 1 || len(p.Lines("stopped")) != 1 {
		t.Fatalf("want the task cut by the drain timeout and the agent stopped; logs:\n%s", p.Logs.String())
	}
}

// A second build of the same commit, stamps and time stamp gives the same
// index, byte for byte: the same digests.
func TestImageIsReproducible(t *testing.T) {
	first := mustImage(t)
	again := filepath.Join(workDir, "oci-again")
	if out, err := makeImage(again); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	a, err := os.ReadFile(filepath.Join(string(first.layout), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(again, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("two builds, two indexes:\n%s\n%s", a, b)
	}
}
