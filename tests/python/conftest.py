"""Make ``import locust`` resolve to rlocust's shim (python/shim/locust), never an installed Locust."""

import os
import re
import signal
import sys
from pathlib import Path

import pytest

SHIM_DIR = Path(__file__).resolve().parents[2] / "python" / "shim"

# The tests drive greenlets explicitly; patching the pytest process itself is not wanted.
# (test_shim_imports checks the patching in a subprocess.)
os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")

if str(SHIM_DIR) in sys.path:
    sys.path.remove(str(SHIM_DIR))
sys.path.insert(0, str(SHIM_DIR))

# Forget any locust modules loaded from elsewhere (e.g. a pip-installed Locust).
for _name in list(sys.modules):
    if _name == "locust" or _name.startswith("locust."):
        _file = getattr(sys.modules[_name], "__file__", None) or ""
        if not Path(_file).resolve().is_relative_to(SHIM_DIR):
            del sys.modules[_name]


# Stand-in for ``_rlocust``, the Rust engine module that only exists inside an rlocust run. The shim's client
# modules touch it at import time (e.g. ``_rlocust.Response``); these tests never send requests, so any attribute
# is an inert placeholder class that accepts any arguments. Kept as source so subprocess tests can run it too.
_LOCUST_VERSION = re.search(r'LOCUST_VERSION: &str = "([^"]+)"',
                            (Path(__file__).resolve().parents[2] / "src/version.rs").read_text()).group(1)
ENGINE_STUB_SOURCE = """
import sys as _sys
try:
    import _rlocust
except ImportError:
    import types as _types

    _stub = _types.ModuleType("_rlocust")
    _stub.__rlocust_test_stub__ = True
    _stub.LOCUST_VERSION = LOCUST_VERSION_OF_THE_CRATE
    _made = {}

    def _stub_getattr(name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in _made:
            # callable with any arguments (functions such as note_wait_late are called from the shim's loop)
            _made[name] = type(name, (), {"__module__": "_rlocust", "__init__": lambda self, *a, **k: None})
        return _made[name]

    _stub.__getattr__ = _stub_getattr
    _sys.modules["_rlocust"] = _stub
""".replace("LOCUST_VERSION_OF_THE_CRATE", repr(_LOCUST_VERSION))
exec(ENGINE_STUB_SOURCE, {})  # noqa: S102

import locust

# (under `rlocust-python -m pytest` the shim is the binary's own copy, on its real engine: `make test-python`
# runs the loop tests so too)
EMBEDDED = not getattr(sys.modules["_rlocust"], "__rlocust_test_stub__", False)
assert EMBEDDED and locust.__file__ == "<rlocust>/locust/__init__.py" or \
    Path(locust.__file__).resolve().parent == SHIM_DIR / "locust", locust.__file__


class FakeRunner:
    def __init__(self):
        self.user_count = 0
        self.exceptions = {}


class FakeEnvironment:
    """The attributes of Environment that the user/task machinery reads."""

    def __init__(self, catch_exceptions=True):
        from locust.event import Events

        self.events = Events()
        self.catch_exceptions = catch_exceptions
        self.runner = FakeRunner()
        self.host = None
        self.user_errors = []
        self.events.user_error.add_listener(
            lambda user_instance, exception, tb: self.user_errors.append(
                (user_instance, exception, tb)
            )
        )


class TestTookTooLong(BaseException):
    """BaseException, so that the task loop's ``except Exception`` handlers cannot swallow it."""


@pytest.fixture(autouse=True)
def _time_limit():
    """Fail (instead of hanging) a test whose greenlets spin without yielding."""

    def expired(signum, frame):
        raise TestTookTooLong("test exceeded 30 s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(
        signal.ITIMER_REAL, 30, 1
    )  # then again every second, in case one is swallowed
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def make_env():
    return FakeEnvironment


@pytest.fixture
def env():
    return FakeEnvironment()


class SleepRecorder:
    """Replaces TaskSet._sleep: records (taskset, seconds, user state) and yields to gevent.

    After ``limit`` sleeps it raises GreenletExit from inside the sleep, which is what a forced
    stop of a waiting user looks like, so every run is bounded.
    """

    def __init__(self, limit=50):
        self.calls = []
        self.limit = limit

    def __call__(self, taskset, seconds):
        import gevent

        self.calls.append((taskset, seconds, taskset.user._state))
        if len(self.calls) >= self.limit:
            raise gevent.GreenletExit()
        gevent.sleep(0)

    @property
    def seconds(self):
        return [c[1] for c in self.calls]


@pytest.fixture
def sleeps(monkeypatch):
    from locust.user.task import TaskSet

    recorder = SleepRecorder()

    def fake_sleep(self, seconds):
        recorder(self, seconds)

    monkeypatch.setattr(TaskSet, "_sleep", fake_sleep)
    return recorder


def run_user(user, timeout=2.0):
    """Start ``user`` in its own gevent Group and wait (bounded) for its greenlet to end."""
    from gevent.pool import Group

    group = Group()
    greenlet = user.start(group)
    greenlet.join(timeout=timeout)
    if not greenlet.dead:
        greenlet.kill(block=True, timeout=1)
        raise AssertionError("user greenlet did not finish in time")
    return greenlet


@pytest.fixture
def run():
    return run_user


@pytest.fixture(scope="module")
def host():
    """The URL of an rlocust-target on 127.0.0.1 (RLOCUST_TARGET_BIN, else this checkout's build; it stops by itself
    after 300 s at the latest), for the tests that run the built binary; RLOCUST_BIN must exist too."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    rlocust = os.environ.get("RLOCUST_BIN", str(root / "target/release/rlocust"))
    target = os.environ.get("RLOCUST_TARGET_BIN", str(root / "target/release/rlocust-target"))
    for b in (rlocust, target):
        assert os.path.exists(b), f"{b} is missing: build with `cargo build --release` first"
    p = subprocess.Popen([target, "--port", "0", "--max-seconds", "300"], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    yield line.strip().rsplit(" ", 1)[-1]
    p.kill()
    p.wait()


@pytest.fixture
def headless(tmp_path, host):
    """``headless(text, users, seconds)``: the built binary (RLOCUST_BIN, else this checkout's) run headless on a
    locustfile of that text against the loopback target, with Locust's environment variables left out; the finished
    process (the run bounded by -t, a 5 s stop timeout and a 60 s limit)."""
    import subprocess

    rlocust = os.environ.get("RLOCUST_BIN", str(Path(__file__).resolve().parents[2] / "target/release/rlocust"))

    def run(text, users, seconds):
        (tmp_path / "locustfile.py").write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        return subprocess.run([rlocust, "-f", "locustfile.py", "--headless", "--only-summary", "-H", host,
                               "-u", str(users), "-r", "100", "-t", str(seconds), "-s", "5"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    return run
