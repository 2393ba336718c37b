# bulkops: multi-stage build; the runtime image is slim, non-root, and has no OpenSSL
# (reqwest uses rustls). Built outside CI; CI lints this file with hadolint.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY config ./config
COPY src ./src
COPY tests ./tests
RUN cargo build --release --locked --bin bulkops

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /var/lib/bulkops bulkops
COPY --from=build /src/target/release/bulkops /usr/local/bin/bulkops
USER 10001
WORKDIR /var/lib/bulkops
ENV BULKOPS_STATE=/var/lib/bulkops/state.db
VOLUME ["/var/lib/bulkops"]
ENTRYPOINT ["/usr/local/bin/bulkops"]
CMD ["--help"]
