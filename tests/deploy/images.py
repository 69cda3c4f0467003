"""The images tests/deploy runs, built with Debian's podman and cached by content.

- The base: no registry image can be pulled here, so the base is made from Debian's packages: `mmdebstrap` writes a
  root filesystem with CPython (python3, python3-venv) and `useradd` (passwd) from the host's own apt sources, and
  `podman import` turns it into `localhost/rlocust-test-base:<hash of the recipe>`. Built once per machine (about
  two minutes; the .deb files are kept in the cache directory for the next build).
- The wheels the image installs besides rlocust's, downloaded once with pip into the cache (`wheelhouse/`).
- The image: the repository's Dockerfile, unchanged, built with `--build-arg BASE=<that base>` and pip pointed at
  the wheelhouse (`PIP_NO_INDEX`, `PIP_FIND_LINKS`, the directory mounted into the build), tagged
  `localhost/rlocust:test-<hash of Dockerfile, wheel and base>`: rebuilt when one of them changes.

Podman runs with `--runtime runc` and `default_ulimits = []` (crun refuses this machine's cgroup layout; the
default ulimits exceed the hard limits): a containers.conf in the cache directory, passed as CONTAINERS_CONF.

    python tests/deploy/images.py      # build (or find) all three; prints the image's tag

A lock file serializes builds, so `make test` can start the base early and the tests wait for it.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("DEPLOY_CACHE", ROOT / ".deploy-cache"))
BASE_REPO = "localhost/rlocust-test-base"
IMAGE_REPO = "localhost/rlocust"
BASE_PACKAGES = ["python3", "python3-venv", "passwd", "libstdc++6"]  # libstdc++: pyzmq (python:*-slim has it through apt)
CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'


class Missing(Exception):
    """A tool this suite needs is not installed: one line saying how to get it."""


def env() -> dict:
    CACHE.mkdir(parents=True, exist_ok=True)
    conf = CACHE / "containers.conf"
    if not conf.exists() or conf.read_text() != CONTAINERS_CONF:
        conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(*args, check=True, timeout=120, input=None) -> subprocess.CompletedProcess:
    exe = shutil.which("podman")
    if not exe:
        raise Missing("podman is missing: apt-get install podman runc (make test installs it when run as root)")
    r = subprocess.run([exe, *map(str, args)], env=env(), capture_output=True, text=True, timeout=timeout,
                       input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(map(str, args[:3]))} … failed ({r.returncode}): {r.stderr[-3000:]}")
    return r


def image_exists(tag: str) -> bool:
    return podman("image", "exists", tag, check=False).returncode == 0


def _prune(prefix: str, keep: str):
    """Remove this suite's older images, tagged `prefix…` (each wheel or recipe change makes a new one); a user's
    own `rlocust:<version>` (make image) is not one of them."""
    repo = prefix.split(":")[0]
    tags = podman("images", "--format", "{{.Repository}}:{{.Tag}}", repo, check=False).stdout.split()
    old = [t for t in tags if t != keep and t.startswith(prefix)]
    if old:
        podman("rmi", "--force", *old, check=False, timeout=120)


@contextmanager
def _lock(name: str):
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _host_release() -> tuple[str, list[str]]:
    """The host's Debian suite and apt source files (the base is made from the same archive)."""
    codename = ""
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            codename = line.split("=", 1)[1].strip('"')
    sources = sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    if os.path.exists("/etc/apt/sources.list") and Path("/etc/apt/sources.list").read_text().strip():
        sources.insert(0, "/etc/apt/sources.list")
    return codename, sources


def base_image() -> str:
    """The base's tag, built with mmdebstrap when this machine has none yet."""
    codename, sources = _host_release()
    if not codename or not sources:
        raise Missing("the deploy tests make their base image from Debian's packages: this host is not Debian "
                      "(no VERSION_CODENAME or apt sources)")
    recipe = f"{codename} essential {' '.join(BASE_PACKAGES)} " + "".join(Path(s).read_text() for s in sources)
    tag = f"{BASE_REPO}:{codename}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    with _lock("base"):
        if image_exists(tag):
            return tag
        if not shutil.which("mmdebstrap"):
            raise Missing("mmdebstrap is missing: apt-get install mmdebstrap (make test installs it when run as root)")
        debs = CACHE / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        tar = CACHE / "base.tar"
        # --dpkgopt=force-unsafe-io: no fsync per file (a throw-away root filesystem); the .deb files are kept in
        # the cache for the next build.
        cmd = ["mmdebstrap", "--quiet", "--variant=essential", f"--include={','.join(BASE_PACKAGES)}",
               "--dpkgopt=force-unsafe-io",
               "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
               "--dpkgopt=path-exclude=/usr/share/locale/*",
               "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives",
               f"--setup-hook=sync-in {debs} /var/cache/apt/archives",
               f"--customize-hook=sync-out /var/cache/apt/archives {debs}",
               codename, str(tar), *sources]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed ({r.returncode}): {r.stderr[-3000:]}")
        podman("import", "--quiet", tar, tag, timeout=300)
        tar.unlink()
        _prune(BASE_REPO + ":", tag)
        return tag


def find_wheel() -> Path:
    import platform

    if os.environ.get("RLOCUST_WHEEL"):
        return Path(os.environ["RLOCUST_WHEEL"])
    found = sorted((ROOT / "dist").glob(f"rlocust-*_{platform.machine()}.whl"))
    if len(found) != 1:
        raise Missing(f"expected one {platform.machine()} wheel in {ROOT / 'dist'}, found {found}: run `make wheel`")
    return found[0]


def wheelhouse(wheel: Path) -> Path:
    """A directory with the wheels of rlocust's dependencies (for the base's CPython), downloaded once."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line for line in z.read(meta).decode().splitlines() if line.startswith("Requires-Dist:")]
    key = hashlib.sha256("\n".join(requires).encode()).hexdigest()[:12]
    house = CACHE / f"wheelhouse-{key}"
    with _lock("wheelhouse"):
        if (house / ".complete").exists():
            return house
        shutil.rmtree(house, ignore_errors=True)
        house.mkdir(parents=True)
        # the base's CPython is Debian's 3.11, as this interpreter's minor version is (checked by the image build:
        # pip refuses a wheel that does not fit)
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:",
                            "--dest", str(house), str(wheel)], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"pip download failed: {r.stderr[-3000:]}")
        for own in house.glob("rlocust-*.whl"):
            own.unlink()
        (house / ".complete").write_text("")
        return house


def rlocust_image() -> str:
    """The tag of the repository's Dockerfile built on the Debian base, offline."""
    wheel = find_wheel()
    base = base_image()
    house = wheelhouse(wheel)
    digest = hashlib.sha256()
    for part in ((ROOT / "Dockerfile").read_bytes(), (ROOT / ".dockerignore").read_bytes(), wheel.read_bytes(),
                 base.encode()):
        digest.update(part)
    tag = f"{IMAGE_REPO}:test-{digest.hexdigest()[:12]}"
    with _lock("image"):
        if image_exists(tag):
            return tag
        podman("build", "--quiet", "--network", "host", "--pull=never",
               "--build-arg", f"BASE={base}", "--build-arg", "PIP_NO_INDEX=1",
               "--build-arg", "PIP_FIND_LINKS=/wheelhouse", "--volume", f"{house}:/wheelhouse:ro",
               "--tag", tag, "--file", ROOT / "Dockerfile", ROOT, timeout=900)
        _prune(IMAGE_REPO + ":test-", tag)
        return tag


if __name__ == "__main__":
    try:
        print(rlocust_image() if sys.argv[1:] != ["base"] else base_image())
    except Missing as e:
        print(f"tests/deploy: {e}", file=sys.stderr)
        sys.exit(1)
