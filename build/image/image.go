package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Port is the one the platform sends /ping and /invocations to.
const port = "8080/tcp"

// meta is what an image says about itself besides its files.
type meta struct {
	version, commit string
	created         time.Time // every time stamp: SOURCE_DATE_EPOCH
}

// config is the image's run configuration. The Dockerfile states the same
// (its test compares them).
func (m meta) config() v1.Config {
	return v1.Config{
		Entrypoint:   []string{entrypoint},
		User:         fmt.Sprintf("%d:%d", uid, uid),
		ExposedPorts: map[string]struct{}{port: {}},
		WorkingDir:   "/",
		// The PATH Docker gives an image that sets none, so that both builds agree.
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "agentvisor seed agent",
			"org.opencontainers.image.source":   "https://github.com/agentvisor/agentvisor",
			"org.opencontainers.image.version":  m.version,
			"org.opencontainers.image.revision": m.commit,
		},
	}
}

// layer is entries as an OCI layer, gzipped at the best level: a registry
// stores it once and each microVM pulls it at every cold start.
func layer(entries []entry, mtime time.Time) (v1.Layer, error) {
	raw, err := layerTar(entries, mtime)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer), tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithCompressedCaching)
}

// image is the agent binary for p on the base files: two layers, so that
// the base's is shared by both platforms and by every release.
func (m meta) image(p platform, base v1.Layer, agent []byte) (v1.Image, error) {
	app, err := layer(agentFiles(agent), m.created)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		OS:           p.os,
		Architecture: p.arch,
		Config:       m.config(),
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: m.created},
			CreatedBy: "agentvisor build/image: /etc/passwd, /etc/group, CA certificates, /tmp"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: v1.Time{Time: m.created},
			CreatedBy: "agentvisor build/image: go build -trimpath -tags=timetzdata -ldflags=-s -w ./cmd/agent"}},
	)
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: m.created})
}

// index gathers the images of the agent for each platform, its binary
// from binary, in one OCI index. The base layer's files are dated 1970
// whatever the release's time stamp: their contents depend on this module's
// go.sum alone, so the layer stays the same, and stored once, across releases.
func (m meta) index(platforms []platform, binary func(platform) ([]byte, error)) (v1.ImageIndex, error) {
	base, err := layer(baseFiles(), time.Unix(0, 0))
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		agent, err := binary(p)
		if err != nil {
			return nil, err
		}
		img, err := m.image(p, base, agent)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.os, Architecture: p.arch}}})
	}
	return idx, nil
}

// writeLayout writes idx as the OCI layout dir: its index.json is idx. A
// dir that exists must be empty or an earlier layout, which is replaced.
func writeLayout(dir string, idx v1.ImageIndex) error {
	names, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(names) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("%s is neither empty nor an OCI layout: not overwriting it", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	_, err = layout.Write(dir, idx)
	return err
}

// push uploads idx and its images to ref, with the credentials the Docker
// config or its credential helpers hold (docker login, ECR's helper).
func push(ref string, idx v1.ImageIndex, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("push %q: %w", ref, err)
	}
	opts = append([]remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}, opts...)
	if err := remote.WriteIndex(r, idx, opts...); err != nil {
		return fmt.Errorf("push %s: %w", r, err)
	}
	return nil
}

// size is an image's bytes in a registry (the gzipped layers, the config
// and the manifest) and unpacked (the layers' tars).
type size struct{ compressed, uncompressed int64 }

func imageSize(img v1.Image) (size, error) {
	var s size
	m, err := img.Manifest()
	if err != nil {
		return s, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return s, err
	}
	s.compressed = m.Config.Size + int64(len(raw))
	layers, err := img.Layers()
	if err != nil {
		return s, err
	}
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return s, err
		}
		s.compressed += n
		rc, err := l.Uncompressed()
		if err != nil {
			return s, err
		}
		u, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return s, err
		}
		s.uncompressed += u
	}
	return s, nil
}
