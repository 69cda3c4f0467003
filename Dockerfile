# rlocust's container image, a drop-in for locustio/locust:2.47.0: the same user (locust, uid 1000), home and working
# directory (/home/locust), the same /opt/venv with `locust` on PATH and at /opt/venv/bin/locust, the same entry
# point (`locust`) and ports (8089, 5557). `locust` runs rlocust there (`python -m rlocust.as_locust`, done below);
# `rlocust` is the same program under its own name. Swap the image of a Locust deployment, keep everything else
# (docs/kubernetes.md says what each launcher needs, and tests/deploy runs each one's pod spec against this image).
#
#   make image     # the wheel, then this file: rlocust:0.1.0 and rlocust:0.1.0-locust2.47.0
#   docker run --rm -p 8089:8089 -v "$PWD:/mnt/locust" rlocust:0.1.0 -f /mnt/locust/locustfile.py
#
# BASE: any CPython >= 3.11 on glibc >= 2.34 with `python3 -m venv` (the wheel is cp311-abi3-manylinux_2_34);
# Locust 2.47's image uses python:3.13-slim. gevent and the other dependencies come as binary wheels: nothing is
# compiled here. PIP_INDEX_URL / PIP_NO_INDEX / PIP_FIND_LINKS: pip's own settings for a private index or an
# offline wheel directory (unset: PyPI).
ARG BASE=python:3.13-slim
FROM ${BASE}

ARG PIP_INDEX_URL
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS

LABEL org.opencontainers.image.title="rlocust" \
      org.opencontainers.image.description="Locust 2.47 locustfiles on a Rust engine; a drop-in for locustio/locust:2.47.0" \
      org.opencontainers.image.version="0.1.0" \
      io.rlocust.locust-version="2.47.0"

ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1

# The build context is dist/*.whl only (.dockerignore): the wheel for this machine's architecture is installed.
COPY dist/rlocust-*.whl /tmp/wheels/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir /tmp/wheels/rlocust-*_"$(uname -m)".whl \
    && /opt/venv/bin/python -m rlocust.as_locust \
    && rm -rf /tmp/wheels \
    && useradd --create-home --uid 1000 locust \
    && chown -R locust /opt/venv \
    && locust --version

# By number (the same user as Locust's image, uid 1000): Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000
WORKDIR /home/locust
EXPOSE 8089 5557
ENTRYPOINT ["locust"]
