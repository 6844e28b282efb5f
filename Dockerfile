# One image with every Tether binary; each docker-compose service picks its command.
#   docker build -t tether .
#   docker run --rm tether tether-token --help
# Build stage: the services' and operator tools' release binaries (not the benchmark's or
# the test harness's, which the image does not ship). Migrations are embedded at compile
# time.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
      -p tether-ws-edge -p tether-session -p tether-chat -p tether-location -p tether-cleanup \
      -p tether-cli \
 && mkdir -p /out \
 && for bin in tether-ws-edge tether-session tether-chat tether-location tether-cleanup \
               tether-token tether-schemas tether-healthcheck tether-smoke; do \
      cp "target/release/$bin" /out/; \
    done

# Runtime stage: no compiler, no shell tools beyond Debian's base, a non-root user.
# Health checks use the bundled tether-healthcheck, so no curl is installed.
FROM debian:bookworm-slim
# Root certificates: the push sender (cleanup) checks an https webhook against them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin tether
COPY --from=builder /out/ /usr/local/bin/
USER tether
ENV TETHER_LOG_FORMAT=json
EXPOSE 8080
CMD ["tether-ws-edge"]
