# bulkops: multi-stage build; the runtime image is slim, non-root, and has no OpenSSL
# (reqwest uses rustls). Built outside CI; CI lints this file with hadolint, and
# scripts/image-check.sh runs the runtime stage (read from this file) in a Debian chroot.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The dependencies first, built against stub sources: this layer is rebuilt only when a manifest
# or Cargo.lock changes, not on every source edit.
COPY Cargo.toml Cargo.lock ./
# Every workspace member's manifest (scripts/image-check.sh checks that none is missing).
COPY crates/hatchet-sim/Cargo.toml crates/hatchet-sim/
COPY crates/handinger-sim/Cargo.toml crates/handinger-sim/
COPY crates/sim-kit/Cargo.toml crates/sim-kit/
RUN for member in . crates/*; do \
        mkdir -p "$member/src" && echo 'fn main() {}' > "$member/src/main.rs" && touch "$member/src/lib.rs"; \
    done \
    && mkdir -p tests/it && touch tests/it/main.rs \
    && cargo build --release --locked --bin bulkops \
    && rm -rf src crates/*/src
COPY crates ./crates
COPY config ./config
COPY src ./src
# COPY keeps the sources' own times, which can be older than the stubs' build: touched, cargo
# rebuilds bulkops itself instead of shipping the stub.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin bulkops

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20250419~deb12u2 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 bulkops \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/bulkops bulkops
COPY --from=build /src/target/release/bulkops /usr/local/bin/bulkops
USER 10001:10001
WORKDIR /var/lib/bulkops
ENV BULKOPS_STATE=/var/lib/bulkops/state.db
VOLUME ["/var/lib/bulkops"]
ENTRYPOINT ["/usr/local/bin/bulkops"]
CMD ["--help"]
