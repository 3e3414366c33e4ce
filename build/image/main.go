// Command image builds the seed agent's OCI image without a Docker daemon:
// `make image` runs it. Its own module, so that go-containerregistry is a
// requirement of this tool and not of the agentvisor library.
//
// For each platform (linux/arm64 and linux/amd64 by default) it compiles
// ./cmd/agent static and stripped, with the version and commit stamped in
// (`agent -version`), and stacks two layers on nothing (scratch):
//
//	/etc/passwd, /etc/group   root, and the user the image runs as: 65532 (nonroot)
//	/etc/ssl/certs/ca-certificates.crt   Mozilla's roots, from x509roots/fallback
//	/tmp                      1777, the one place the agent's user may write
//	/agent                    the entrypoint; it listens on 0.0.0.0:8080 (EXPOSE 8080)
//
// The images go in one OCI index, written as an OCI layout (-out) and,
// with -push, to a registry. Every time stamp is -epoch (SOURCE_DATE_EPOCH,
// else 0) but the base layer's files', 1970, so a commit builds the same
// digests on any machine with the same Go, and the base layer is the same
// for every release. With -rootfs it writes one platform's file tree to a directory
// instead, for the Dockerfile's last stage to copy.
//
//	go run . -src ../.. -out ../oci -version v1.2.3 -commit $(git rev-parse HEAD)
//	go run . -src ../.. -out ../oci -push 123456789012.dkr.ecr.us-east-1.amazonaws.com/agent:v1.2.3
//	go run . -src /src -rootfs /rootfs -platforms linux/arm64
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// options is the command line.
type options struct {
	build
	platforms []platform
	meta      meta
	out       string // the OCI layout
	pushRef   string // where to push the index, if anywhere
	rootfs    string // where to write one platform's files instead
}

func parseOptions(args []string, getenv func(string) string, usage io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(&o.src, "src", "../..", "the repository: the directory -pkg is relative to")
	fs.StringVar(&o.pkg, "pkg", "./cmd/agent", "the agent's main package")
	fs.StringVar(&o.goCmd, "go", "go", "the go command")
	fs.StringVar(&o.version, "version", "dev", "stamped into the binary (agent -version) and the image's labels")
	fs.StringVar(&o.commit, "commit", "unknown", "the commit, stamped likewise")
	plats := fs.String("platforms", "linux/arm64,linux/amd64", "comma-separated os/arch; AgentCore Runtime runs linux/arm64")
	epoch := fs.String("epoch", orDefault(getenv("SOURCE_DATE_EPOCH"), "0"), "every time stamp, in seconds since 1970 (env SOURCE_DATE_EPOCH)")
	fs.StringVar(&o.out, "out", "", "the OCI layout directory to write: created, or replaced if it holds one")
	fs.StringVar(&o.pushRef, "push", "", "also push the index to this reference, like registry/repo:tag")
	fs.StringVar(&o.rootfs, "rootfs", "", "write the single platform's file tree here instead of an image")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.platforms, err = parsePlatforms(*plats); err != nil {
		return o, err
	}
	secs, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil || secs < 0 {
		return o, fmt.Errorf("-epoch %q: want seconds since 1970", *epoch)
	}
	o.meta = meta{version: o.version, commit: o.commit, created: time.Unix(secs, 0).UTC()}
	for _, v := range []string{o.version, o.commit} {
		if v == "" || strings.ContainsAny(v, " \t\n'\"") {
			return o, fmt.Errorf("version and commit: %q is empty or has a space or quote", v)
		}
	}
	switch {
	case o.rootfs != "" && (o.out != "" || o.pushRef != ""):
		return o, errors.New("-rootfs writes files, not an image: no -out or -push with it")
	case o.rootfs != "" && len(o.platforms) != 1:
		return o, errors.New("-rootfs takes one platform")
	case o.rootfs == "" && o.out == "":
		return o, errors.New("-out is needed (or -rootfs)")
	}
	return o, nil
}

func run(args []string, getenv func(string) string, stdout io.Writer) error {
	o, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "agent-image")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.rootfs != "" {
		agent, err := o.binary(o.platforms[0], tmp)
		if err != nil {
			return err
		}
		return writeTree(o.rootfs, append(baseFiles(), agentFiles(agent)...))
	}
	idx, err := o.meta.index(o.platforms, func(p platform) ([]byte, error) { return o.binary(p, tmp) })
	if err != nil {
		return err
	}
	if err := writeLayout(o.out, idx); err != nil {
		return fmt.Errorf("write %s: %w", o.out, err)
	}
	if err := report(stdout, o.out, idx); err != nil {
		return err
	}
	if o.pushRef != "" {
		if err := push(o.pushRef, idx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pushed %s\n", o.pushRef)
	}
	return nil
}

// report prints the index's digest, and each image's digest and sizes.
func report(w io.Writer, out string, idx v1.ImageIndex) error {
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: OCI index %s\n", out, d)
	for _, desc := range m.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return err
		}
		s, err := imageSize(img)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s/%s %s: %d B compressed (%.2f MiB), %d B uncompressed (%.2f MiB)\n",
			desc.Platform.OS, desc.Platform.Architecture, desc.Digest,
			s.compressed, mib(s.compressed), s.uncompressed, mib(s.uncompressed))
	}
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
