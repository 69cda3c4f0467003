"""The deployment tests' pods: `Pod`, one private network namespace per test in which a launcher's containers
run as its pod spec says.

Each test gets a namespace of its own (`--network none`: loopback only, nothing reachable outside it), so the
launchers' fixed ports (8089, 5557) never meet another test's or another engineer's: the first container runs
the counting target (target_server.py) and owns the namespace, the master and workers join it, and the names the
launcher's Services give the master resolve to 127.0.0.1 there (a hosts file), as cluster DNS resolves them to
the master's pod. Probes and polls are sent from inside the namespace (probe.py, `podman exec`), as a kubelet
or KEDA reaches the pod.
"""

import json
import shlex
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import images

HERE = Path(__file__).resolve().parent
TARGET_PORT = 8080
TARGET = f"http://127.0.0.1:{TARGET_PORT}"


class Pod:
    """A private network namespace with the target in it; `run` starts a container of a launcher's pod spec."""

    def __init__(self, image: str, names: list[str]):
        self.image = image
        self.id = uuid.uuid4().hex[:8]
        self.containers: list[str] = []
        # the Service names, for every container of the namespace (podman gives a container that joins another's
        # namespace no hosts entries of its own)
        self.dir = Path(tempfile.mkdtemp(prefix="rlocust-deploy-"))
        self.hosts = self.dir / "hosts"
        self.hosts.write_text("127.0.0.1\tlocalhost " + " ".join(names) + "\n::1\tlocalhost\n")
        self.hosts.chmod(0o644)
        self.target = self._start("target", ["/srv/deploy/target_server.py", str(TARGET_PORT), "300"],
                                  network=["--network", "none"], entrypoint="python3",
                                  mounts=[(HERE, "/srv/deploy", True)])
        self.until(lambda: self.http("GET", f"{TARGET}/__count")[0] == 200, 30, "the target did not start")

    def _start(self, role, args, *, network, entrypoint=None, env=None, mounts=(), extra=()):
        name = f"rlocust-deploy-{self.id}-{role}"
        cmd = ["run", "-d", "--name", name, "--label", f"rlocust-deploy={self.id}", "--pull=never", *network]
        if entrypoint is not None:
            cmd += ["--entrypoint", entrypoint if isinstance(entrypoint, str) else json.dumps(entrypoint)]
        for k, v in (env or {}).items():
            cmd += ["--env", f"{k}={v}"]
        for host, ctr, ro in [(self.hosts, "/etc/hosts", True), *mounts]:
            cmd += ["--volume", f"{host}:{ctr}:{'ro' if ro else 'rw'}"]
        cmd += [*extra, self.image, *args]
        images.podman(*cmd)
        self.containers.append(name)
        return name

    def run(self, role, args, *, command=None, env=None, mounts=(), extra=()):
        """A container of the pod spec: `command` replaces the image's entry point (Kubernetes' `command`), `args`
        are its arguments (`args`), `mounts` are (host path, container path, read-only)."""
        return self._start(role, args, network=["--network", f"container:{self.target}"], entrypoint=command,
                           env=env, mounts=mounts, extra=extra)

    def http(self, method, url, form=None):
        """(status, body) of a request sent from inside the namespace (0 when nothing answered)."""
        args = ["exec", self.target, "python3", "/srv/deploy/probe.py", method, url]
        if form is not None:
            args.append(form)
        r = images.podman(*args, check=False, timeout=30)
        status, _, body = r.stdout.partition("\n")
        return (int(status) if status.isdigit() else 0), body

    def json(self, url):
        status, body = self.http("GET", url)
        assert status == 200, (url, status, body[:500])
        return json.loads(body)

    def served(self) -> int:
        """Requests the target answered (every path)."""
        return sum(self.json(f"{TARGET}/__count").values())

    def until(self, check, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise AssertionError(f"{what} within {timeout} s\n{self.all_logs()}")

    def logs(self, name) -> str:
        r = images.podman("logs", name, check=False)
        return r.stdout + r.stderr

    def all_logs(self) -> str:
        return "\n".join(f"--- {c}\n{self.logs(c)[-3000:]}" for c in self.containers)

    def wait(self, name, timeout) -> int:
        """The exit code of container `name` once it has exited."""
        r = images.podman("wait", name, check=False, timeout=timeout)
        assert r.returncode == 0, r.stderr
        return int(r.stdout.strip().splitlines()[-1])

    def state(self, name) -> str:
        return images.podman("inspect", "--format", "{{.State.Status}}", name, check=False).stdout.strip()

    def close(self):
        # the containers that joined the target's namespace first: podman keeps a namespace's owner while others use it
        others = [c for c in self.containers if c != self.target]
        if others:
            images.podman("rm", "-f", "-t", "2", *others, check=False, timeout=60)
        images.podman("rm", "-f", "-t", "2", self.target, check=False, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def split(args: str) -> list[str]:
    """A launcher's argument string split as it splits it (the official operator uses shlex)."""
    return shlex.split(args)
