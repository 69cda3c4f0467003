#!/usr/bin/env bash
# What `make test` needs from the system besides the toolchains (Rust, CPython 3.11+ with venv, a C compiler, make,
# Node/npm): Debian's Chromium (the browser tests), nginx and tinyproxy (the differential suite), PostgreSQL,
# Mosquitto and dnsmasq (the contrib users' servers), Prometheus (tests/obs), readelf (tests/packaging), and podman,
# runc and mmdebstrap (tests/deploy builds and runs the image). Run by `make test` first: installs what is missing
# with apt-get when run as root on Debian; otherwise says in one line what is missing and how to get it, and fails.
set -euo pipefail
with=()      # installed with their recommended packages
without=()   # installed without them
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
has chromium || with+=(chromium)
has nginx || with+=(nginx)
has tinyproxy || with+=(tinyproxy-bin)
has initdb || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || with+=(postgresql)
has mosquitto || with+=(mosquitto)
has dnsmasq || with+=(dnsmasq-base)
has prometheus || without+=(prometheus)
has readelf || with+=(binutils)
has podman || with+=(podman)
has runc || with+=(runc)
has mmdebstrap || with+=(mmdebstrap)
missing="${with[*]:-} ${without[*]:-}"
missing="$(echo $missing)"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing Debian's $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [ ${#with[@]} -gt 0 ]; then apt-get install -y -qq "${with[@]}" >/dev/null; fi
    if [ ${#without[@]} -gt 0 ]; then apt-get install -y -qq --no-install-recommends "${without[@]}" >/dev/null; fi
else
    echo "make test needs Debian's $missing: install them with 'sudo apt-get install $missing' (make test run as root installs them itself)" >&2
    exit 1
fi
