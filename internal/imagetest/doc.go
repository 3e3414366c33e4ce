// Package imagetest holds the tests of the seed agent's container image:
// `make image` (build/image, a module of its own) builds the linux/arm64
// image into an OCI layout, and the tests read it as a registry would (the
// index, the manifest, the config, the layers, every digest checked), unpack
// the binary and run it under qemu-aarch64-static, as AgentCore Runtime's
// arm64 microVMs would: /ping, an invocation, SIGTERM.
//
// qemu-user-static is a Debian package (.ci/run installs it). Without it the
// run is skipped, saying why, except under CI (CI set), where it fails. On
// an arm64 machine the binary runs without qemu. The Dockerfile is built
// only where a Docker daemon answers; its final stage is checked against
// the image everywhere.
package imagetest
