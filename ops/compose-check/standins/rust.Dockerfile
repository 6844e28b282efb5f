# Stand-in for the public rust:<version>-bookworm builder image, built by
# scripts/compose-check where no image registry is reachable: Debian's base, a C compiler
# for crates that build C (ring), and this machine's own Rust toolchain (the build context)
# at /usr/local/rustup/toolchains/<toolchain>, on PATH through /usr/local/cargo/bin as in
# the public image. This machine's extra CA certificates (if any) are trusted too, so that
# cargo reaches crates.io the way the host does.
ARG BASE
FROM ${BASE}
ARG TOOLCHAIN
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:$PATH
COPY toolchain/ /usr/local/rustup/toolchains/${TOOLCHAIN}/
RUN mkdir -p /usr/local/cargo/bin \
    && for tool in /usr/local/rustup/toolchains/${TOOLCHAIN}/bin/*; do \
         ln -s "$tool" /usr/local/cargo/bin/; \
       done \
    && cargo --version && rustc --version
