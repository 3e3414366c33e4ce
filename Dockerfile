# The seed agent's image, for pipelines that build with Docker (CodeBuild, as
# the AgentCore CLI does). `make image` builds the same files and config
# without a daemon, for both platforms at once; internal/imagetest checks that
# this file's last stage says what that image says. See docs/deploy.md.
#
#   docker buildx build --platform linux/arm64 \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" -t agentvisor-agent .

# The build runs on the build machine's platform and cross-compiles: no
# emulation even when an amd64 machine builds the arm64 image.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
COPY build/image/go.mod build/image/go.sum build/image/
RUN go mod download && go -C build/image mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION=dev COMMIT=unknown
# build/image writes the file tree make image puts in its layers: the static,
# stripped agent stamped with VERSION and COMMIT, /etc/passwd and /etc/group,
# the CA roots, /tmp.
RUN go -C build/image run . -src /src -rootfs /rootfs \
      -platforms "${TARGETOS:-linux}/${TARGETARCH:-arm64}" -version "$VERSION" -commit "$COMMIT"

FROM scratch
COPY --from=build /rootfs/ /
USER 65532:65532
EXPOSE 8080
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENTRYPOINT ["/agent"]
ARG VERSION=dev COMMIT=unknown
LABEL org.opencontainers.image.title="agentvisor seed agent" \
      org.opencontainers.image.source="https://github.com/agentvisor/agentvisor" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$COMMIT"
