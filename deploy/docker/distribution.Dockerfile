# syntax=docker/dockerfile:1
# The distribution image: the shared base (deploy/Dockerfile) plus which service runs, on which port.
#   docker build -f deploy/Dockerfile -t bensys-base .
#   docker build -f deploy/docker/distribution.Dockerfile -t bensys-distribution .
# Compose builds both in that order by itself (see compose.yaml, additional_contexts).
# Stateless over HTTP; its Kafka consumer is a consumer group, so replicas may be added.

# "bensys-base" is the local image above, or the build context compose passes under that name.
FROM bensys-base

LABEL org.opencontainers.image.title="BenSys distribution"

ENV BENSYS_SERVICE=distribution \
    BENSYS_HTTP_PORT=8003

# Restated, not only inherited: the user an image runs as should be visible where it is built.
USER 10001:10001

EXPOSE 8003

# The start period covers a service waiting for Kafka and MongoDB (BENSYS_STARTUP_WAIT_SECONDS,
# 60 s by default) before it serves.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/opt/bensys/healthcheck.py"]

CMD ["python", "-m", "services.distribution"]
