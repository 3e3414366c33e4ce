package main

import (
	"archive/tar"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // a part of the error; "" for none
	}{
		{"defaults need -out", nil, nil, "-out is needed"},
		{"layout", []string{"-out", "x"}, nil, ""},
		{"rootfs", []string{"-rootfs", "x", "-platforms", "linux/arm64"}, nil, ""},
		{"rootfs of two platforms", []string{"-rootfs", "x"}, nil, "one platform"},
		{"rootfs and push", []string{"-rootfs", "x", "-platforms", "linux/arm64", "-push", "r/a:b"}, nil, "no -out or -push"},
		{"not linux", []string{"-out", "x", "-platforms", "darwin/arm64"}, nil, "want linux/<arch>"},
		{"a platform twice", []string{"-out", "x", "-platforms", "linux/arm64,linux/arm64"}, nil, "given twice"},
		{"SOURCE_DATE_EPOCH", []string{"-out", "x"}, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, ""},
		{"bad SOURCE_DATE_EPOCH", []string{"-out", "x"}, map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, "want seconds"},
		{"a space in the version", []string{"-out", "x", "-version", "v1 beta"}, nil, "space or quote"},
		{"stray argument", []string{"-out", "x", "more"}, nil, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
	o, _ := parseOptions([]string{"-out", "x"}, func(string) string { return "1700000000" }, io.Discard)
	if !o.meta.created.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("created %s, want SOURCE_DATE_EPOCH's", o.meta.created)
	}
}

// The CA file is Mozilla's roots, parseable by crypto/x509, with Amazon's
// (AWS endpoints chain to them) and without the one whose distrust-after
// date a PEM file cannot carry.
func TestCABundle(t *testing.T) {
	var subjects []string
	for block, rest := pem.Decode(caBundle()); block != nil; block, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, c.Subject.String())
	}
	all := strings.Join(subjects, "\n")
	if len(subjects) < 100 || !strings.Contains(all, "CN=Amazon Root CA 1,") || strings.Contains(all, "Izenpe") {
		t.Fatalf("%d roots, want over 100 with Amazon Root CA 1 and without Izenpe:\n%s", len(subjects), all)
	}
}

// The Dockerfile's rootfs and the image's layers hold the same files, with
// the same modes: the two builds differ in layers, not in what they unpack to.
func TestWriteTreeMatchesTheLayers(t *testing.T) {
	entries := append(baseFiles(), agentFiles([]byte("\x7fELF an agent"))...)
	dir := t.TempDir()
	if err := writeTree(dir, entries); err != nil {
		t.Fatal(err)
	}
	raw, err := layerTar(entries, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	n := 0
	for ; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: owner %d:%d, time %s; want root and the epoch", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		fi, err := os.Stat(filepath.Join(dir, h.Name))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode(), h.FileInfo().Mode(); got != want {
			t.Errorf("%s: mode %s on disk, %s in the layer", h.Name, got, want)
		}
		if !fi.IsDir() {
			onDisk, _ := os.ReadFile(filepath.Join(dir, h.Name))
			inLayer, _ := io.ReadAll(tr)
			if !bytes.Equal(onDisk, inLayer) {
				t.Errorf("%s: contents differ", h.Name)
			}
		}
	}
	if n != len(entries) {
		t.Fatalf("%d entries in the layer, want %d", n, len(entries))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tmp")); fi.Mode() != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Fatalf("/tmp mode %s, want drwxrwxrwt", fi.Mode())
	}
}

// testIndex is an index of both platforms around a stand-in binary.
func testIndex(t *testing.T, m meta) v1.ImageIndex {
	t.Helper()
	idx, err := m.index([]platform{{"linux", "arm64"}, {"linux", "amd64"}}, func(p platform) ([]byte, error) {
		return []byte("agent for " + p.String()), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// The same inputs give the same digest, another time stamp another one;
// the base layer stays the same.
func TestIndexIsReproducible(t *testing.T) {
	m := meta{version: "v1", commit: "c1", created: time.Unix(1700000000, 0).UTC()}
	digest := func(m meta) v1.Hash {
		d, err := testIndex(t, m).Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	first := digest(m)
	if again := digest(m); again != first {
		t.Fatalf("digests %s and %s of the same inputs", first, again)
	}
	later := m
	later.created = m.created.Add(time.Second)
	if digest(later) == first {
		t.Fatal("another time stamp gave the same digest")
	}
	// The base layer is one blob for both platforms and both releases.
	bases := map[v1.Hash]bool{}
	for _, m := range []meta{m, later} {
		idx := testIndex(t, m)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, desc := range im.Manifests {
			img, err := idx.Image(desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			man, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			bases[man.Layers[0].Digest] = true
		}
	}
	if len(bases) != 1 {
		t.Fatalf("base layers %v, want one", bases)
	}
}

// writeLayout replaces an earlier layout, and will not touch a directory
// that holds anything else.
func TestWriteLayout(t *testing.T) {
	idx := testIndex(t, meta{version: "v1", commit: "c1"})
	dir := filepath.Join(t.TempDir(), "oci")
	for range 2 {
		if err := writeLayout(dir, idx); err != nil {
			t.Fatal(err)
		}
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "precious"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeLayout(other, idx); err == nil || !strings.Contains(err.Error(), "not overwriting") {
		t.Fatalf("into a directory with a file: %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(other, "precious")); err != nil {
		t.Fatal(err)
	}
}

// push puts the whole index in a registry: here one in memory, without
// credentials, as the keychain finds none.
func TestPush(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials of the machine's
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	idx := testIndex(t, meta{version: "v1", commit: "c1"})
	ref := strings.TrimPrefix(srv.URL, "http://") + "/agentvisor/agent:v1"
	if err := push(ref, idx); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pushed index %s, want %s", d, want)
	}
	m, err := got.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range m.Manifests {
		img, err := got.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.Layers(); err != nil {
			t.Fatalf("%s: %v", desc.Platform, err)
		}
	}
}
