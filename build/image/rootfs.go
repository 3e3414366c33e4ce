package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The image runs as this user and group: distroless's "nonroot", which
// Kubernetes' runAsNonRoot accepts as it is numeric.
const (
	uid      = 65532
	userName = "nonroot"
	// entrypoint is where the agent lies in the image.
	entrypoint = "/agent"
)

// entry is one file or directory of the image's file tree, owned by root:
// the agent's user can write to /tmp and nowhere else.
type entry struct {
	path string      // relative to the root: "etc/passwd"
	mode fs.FileMode // permission bits, fs.ModeSticky, and fs.ModeDir for a directory
	data []byte      // a file's content
}

// baseFiles are the files every image has, whatever its platform or
// version: a user database for tools that map uids to names, the CA
// certificates Go's crypto/x509 looks for on Linux, and a /tmp. They make
// a layer of their own, shared by both platforms and by every release.
func baseFiles() []entry {
	return []entry{
		{path: "etc", mode: fs.ModeDir | 0o755},
		{path: "etc/group", mode: 0o644, data: fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", userName, uid)},
		{path: "etc/passwd", mode: 0o644, data: fmt.Appendf(nil,
			"root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/nonexistent:/sbin/nologin\n", userName, uid, uid, userName)},
		{path: "etc/ssl", mode: fs.ModeDir | 0o755},
		{path: "etc/ssl/certs", mode: fs.ModeDir | 0o755},
		{path: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: caBundle()},
		{path: "tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777},
	}
}

// agentFiles is the layer that changes with each build: the binary alone.
func agentFiles(agent []byte) []entry {
	return []entry{{path: entrypoint[1:], mode: 0o755, data: agent}}
}

// caBundle is the Mozilla (NSS) root store as PEM, from
// golang.org/x/crypto/x509roots/fallback, pinned by this module's go.sum:
// the same on every machine that builds the image, unlike the build host's
// own /etc/ssl. Roots with a constraint X.509 cannot express (a
// distrust-after date) are left out rather than trusted without it.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate}) // a bytes.Buffer does not fail
	}
	return b.Bytes()
}

// layerTar is entries as an uncompressed tar, every time stamp mtime and
// every owner root, so that the same entries give the same bytes.
func layerTar(entries []entry, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.path, Mode: int64(e.mode.Perm()), ModTime: mtime, Format: tar.FormatPAX}
		if e.mode&fs.ModeSticky != 0 {
			h.Mode |= 0o1000 // tar's c_ISVTX
		}
		if e.mode.IsDir() {
			h.Typeflag, h.Name = tar.TypeDir, e.path+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", e.path, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeTree writes entries below dir, as the Dockerfile's last stage copies
// them into a scratch image.
func writeTree(dir string, entries []entry) error {
	for _, e := range entries {
		path := filepath.Join(dir, filepath.FromSlash(e.path))
		var err error
		if e.mode.IsDir() {
			err = os.MkdirAll(path, 0o755)
		} else {
			err = os.WriteFile(path, e.data, 0o600)
		}
		if err == nil {
			err = os.Chmod(path, e.mode&(fs.ModePerm|fs.ModeSticky)) // past the umask
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", e.path, err)
		}
	}
	return nil
}
