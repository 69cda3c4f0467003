# rlocust's container image: the wheel `make wheel` builds, on a slim CPython base, run as a non-root user, with
# `rlocust` as the entry point, so a deployment passes it the same arguments as a locustio/locust container.
#
#   make wheel && docker build -t rlocust:0.1.0 .
#   docker run --rm -p 8089:8089 -v "$PWD:/mnt/locust" rlocust:0.1.0 -f /mnt/locust/locustfile.py
#
# The base only has to be CPython >= 3.11 on glibc >= 2.34 (the wheel is cp311-abi3-manylinux_2_34); gevent and
# greenlet come as binary wheels, so nothing is compiled in the image.
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1

# The build context is dist/*.whl only (.dockerignore); one wheel per version and platform.
COPY dist/rlocust-*.whl /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/rlocust-*.whl \
    && rm -rf /tmp/wheels \
    && useradd --create-home --uid 1000 locust

# By number: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000
WORKDIR /home/locust

# The web UI, and the port a master listens on for workers.
EXPOSE 8089 5557

ENTRYPOINT ["rlocust"]
