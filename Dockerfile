# syntax=docker/dockerfile:1
# The jetsync image: one static binary on distroless/static, running as a
# non-root user. The same image serves the controller (the Helm chart runs
# `jetsync controller …`) and the CLI in CI (`docker run … plan -f /manifests`).
#
# From a checkout, the binary is built from source (BINARY=source, the default):
#
#   docker build -t jetsync --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
#
# The release workflow (.github/workflows/release.yml) puts the static binaries
# of its archives into the image instead (BINARY=prebuilt): it places them at
# dist/linux-amd64/jetsync and dist/linux-arm64/jetsync in the build context
# and runs `docker buildx build --platform linux/amd64,linux/arm64
# --build-arg BINARY=prebuilt`, so that the image holds the released bytes
# and no platform is emulated.
#
# Source builds of several platforms (docker buildx --platform
# linux/amd64,linux/arm64) build natively per platform: the musl target
# follows the build machine.
ARG BINARY=source

# ---------------------------------------------------------------- build
FROM rust:1-bookworm AS source
# musl-tools is whatever Debian bookworm ships (a stable release's version);
# the Rust toolchain is pinned by the image tag and the crates by Cargo.lock.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# ring (rustls) compiles C: musl-gcc is the C compiler for the musl target.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    target="$(uname -m)-unknown-linux-musl"; \
    rustup target add "$target"; \
    export CC_x86_64_unknown_linux_musl=musl-gcc CC_aarch64_unknown_linux_musl=musl-gcc; \
    cargo build --release --locked --target "$target" --bin jetsync; \
    install -D -m 0755 "target/$target/release/jetsync" /out/jetsync; \
    /out/jetsync --version

# ---------------------------------------------------------------- prebuilt
FROM scratch AS prebuilt
ARG TARGETARCH
COPY dist/linux-${TARGETARCH}/jetsync /out/jetsync

# The stage named by BINARY: `source` or `prebuilt`.
FROM ${BINARY} AS binary

# ---------------------------------------------------------------- runtime
# distroless/static: no shell, no package manager, CA certificates, tzdata and
# a `nonroot` user (65532), which the chart's securityContext also names.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="jetsync" \
      org.opencontainers.image.description="GitOps reconciler for NATS JetStream: streams, consumers, KV buckets and object stores declared as YAML" \
      org.opencontainers.image.source="https://github.com/jetsync/jetsync" \
      org.opencontainers.image.url="https://github.com/jetsync/jetsync" \
      org.opencontainers.image.documentation="https://github.com/jetsync/jetsync#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"
COPY --from=binary /out/jetsync /usr/local/bin/jetsync
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/jetsync"]
CMD ["--help"]
