"""The ``import locust`` surface (reference §1.1)."""

import os
import subprocess
import sys
import textwrap
import types

import pytest
from conftest import ENGINE_STUB_SOURCE, SHIM_DIR

import locust

EXPECTED_ALL = {
    "FastHttpUser",
    "HttpLocust",
    "HttpUser",
    "LoadTestShape",
    "Locust",
    "MarkovTaskSet",
    "SequentialTaskSet",
    "TaskSet",
    "User",
    "__version__",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "events",
    "poisson",
    "run_single_user",
    "tag",
    "task",
    "transition",
    "transitions",
    "wait_time",
}


def test_all_names_and_version():
    assert set(locust.__all__) == EXPECTED_ALL
    assert len(locust.__all__) == len(EXPECTED_ALL)
    for name in locust.__all__:
        assert hasattr(locust, name), name
    assert locust.__version__ == "2.47.0"
    assert isinstance(locust.Events, type)


def test_star_import_works():
    ns = {}
    exec("from locust import *", ns)  # noqa: S102
    assert ns["HttpUser"] is locust.HttpUser
    assert ns["events"] is locust.events


def test_exported_objects_come_from_their_modules():
    from locust.contrib.fasthttp import FastHttpUser
    from locust.event import Events
    from locust.shape import LoadTestShape
    from locust.user.markov_taskset import MarkovTaskSet, transition, transitions
    from locust.user.sequential_taskset import SequentialTaskSet
    from locust.user.task import TaskSet, tag, task
    from locust.user.users import HttpUser, User
    from locust.user.wait_time import (
        between,
        constant,
        constant_pacing,
        constant_throughput,
        poisson,
    )

    assert locust.FastHttpUser is FastHttpUser
    assert locust.Events is Events
    assert isinstance(locust.events, Events)
    assert locust.LoadTestShape is LoadTestShape
    assert (locust.MarkovTaskSet, locust.transition, locust.transitions) == (
        MarkovTaskSet,
        transition,
        transitions,
    )
    assert locust.SequentialTaskSet is SequentialTaskSet
    assert (locust.TaskSet, locust.tag, locust.task) == (TaskSet, tag, task)
    assert (locust.HttpUser, locust.User) == (HttpUser, User)
    assert (locust.between, locust.constant, locust.constant_pacing) == (
        between,
        constant,
        constant_pacing,
    )
    assert (locust.constant_throughput, locust.poisson) == (
        constant_throughput,
        poisson,
    )
    assert (
        locust.user.User is User
        and locust.user.HttpUser is HttpUser
        and locust.user.TaskSet is TaskSet
    )
    assert set(locust.user.__all__) == {"HttpUser", "TaskSet", "User", "tag", "task"}


def test_wait_time_is_module_attribute_not_importable_submodule():
    assert isinstance(locust.wait_time, types.ModuleType)
    assert locust.wait_time is sys.modules["locust.user.wait_time"]
    assert locust.wait_time.between is locust.between
    with pytest.raises(ModuleNotFoundError):
        exec("from locust.wait_time import between", {})  # noqa: S102


def test_user_task_attribute_is_the_decorator():
    assert locust.user.task is locust.task
    assert callable(locust.user.task) and not isinstance(
        locust.user.task, types.ModuleType
    )
    module = sys.modules["locust.user.task"]
    assert isinstance(module, types.ModuleType)
    ns = {}
    exec("from locust.user.task import TaskSet, DefaultTaskSet", ns)  # noqa: S102
    assert ns["TaskSet"] is locust.TaskSet


@pytest.mark.parametrize(
    "name, old, new",
    [("HttpLocust", "HttpLocust", "HttpUser"), ("Locust", "Locust", "User")],
)
def test_renamed_placeholders_refuse_subclassing(name, old, new):
    placeholder = getattr(locust, name)
    with pytest.raises(ImportError) as info:
        type("Mine", (placeholder,), {})
    assert str(info.value) == (
        f"The {old} class has been renamed to {new} in version 1.0. "
        "For more info see: https://docs.locust.io/en/latest/changelog.html#changelog-1-0"
    )
    assert placeholder.__name__ == f"Deprecated{old}Class"


def _run_python(code, **env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    extra = env_overrides.pop("PYTHONPATH_EXTRA", None)
    env.update(env_overrides)
    env["PYTHONPATH"] = str(SHIM_DIR) + (os.pathsep + extra if extra else "")
    proc = subprocess.run(
        [sys.executable, "-c", ENGINE_STUB_SOURCE + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_monkey_patches_unless_skipped():
    code = """
        import locust
        from gevent import monkey
        print(monkey.is_module_patched("socket"), monkey.is_module_patched("time"))
    """
    assert _run_python(code) == "True True"
    assert _run_python(code, LOCUST_SKIP_MONKEY_PATCH="1") == "False False"


def test_urllib3_queue_is_lifo_when_available():
    code = """
        try:
            import urllib3  # noqa
        except ImportError:
            print("no urllib3")
            raise SystemExit
        import locust
        from gevent.queue import LifoQueue
        print(urllib3.connectionpool.ConnectionPool.QueueCls is LifoQueue)
    """
    out = _run_python(code)
    assert out in ("True", "no urllib3")
    if out == "True":
        skipped = _run_python(code, LOCUST_SKIP_URLLIB3_PATCH="1")
        assert skipped == "False"


def test_urllib3_imported_after_locust_gets_the_lifo_queue_when_it_is_imported():
    # (Locust imports urllib3 at start; the shim makes the same change when something imports it: requests here)
    code = """
        import sys
        try:
            import urllib3.connectionpool as _  # noqa
        except ImportError:
            print("no urllib3")
            raise SystemExit
        for name in [m for m in sys.modules if m.startswith("urllib3")]:
            del sys.modules[name]
        import locust
        from locust import _urllib3_patch
        before = "urllib3.connectionpool" in sys.modules, _urllib3_patch._Finder in sys.meta_path
        # (monkey-patched, `queue.LifoQueue` is gevent's already, which urllib3 uses by default: a class of the
        # test's own in gevent.queue shows that the hook itself set it)
        import gevent.queue
        class Marked(gevent.queue.LifoQueue):
            pass
        gevent.queue.LifoQueue = Marked
        import requests  # noqa
        import urllib3.connectionpool
        after = _urllib3_patch._Finder in sys.meta_path, "exec_module" in vars(urllib3.connectionpool.__loader__)
        print(before, after, urllib3.connectionpool.ConnectionPool.QueueCls is Marked)
    """
    assert _run_python(code) in ("(False, True) (False, False) True", "no urllib3")


@pytest.mark.parametrize(
    "module, dependency, names",
    [
        ("postgres", "psycopg", ["PostgresClient", "PostgresUser"]),
        ("mongodb", "pymongo", ["MongoDBClient", "MongoDBUser"]),
        ("dns", "dns", ["DNSClient", "DNSUser"]),
        ("oai", "httpx", ["OpenAIClient", "OpenAIUser"]),
        ("socketio", "socketio", ["SocketIOClient", "SocketIOUser"]),
        ("mqtt", "paho", ["MqttClient", "MqttUser", "PublishedMessageContext", "SUBACK_FAILURE", "REQUEST_TYPE"]),
        ("milvus", "pymilvus", ["BaseClient", "MilvusV2Client", "MilvusUser"]),
        ("qdrant", "qdrant_client", ["QdrantLocustClient", "QdrantUser"]),
        ("csv_request_logger", None, ["CsvRequestLogger", "CSV_COLUMNS"]),
    ],
)
def test_contrib_modules_exist_and_need_only_their_client(module, dependency, names):
    """Locust 2.47's contrib users are importable; without their third-party client the import fails naming that
    client (as Locust's own modules do), never the contrib module itself. In a subprocess: locust.contrib.milvus
    monkey-patches with gevent when imported, as Locust's does. The clients are visible when PYTHONPATH names
    them (e.g. the .contrib-site of `make test-contrib`)."""
    code = f"""
        import importlib
        try:
            mod = importlib.import_module("locust.contrib.{module}")
        except ModuleNotFoundError as e:
            print("missing", e.name)
        except Exception as e:
            print("error", e)
        else:
            print("ok", [n for n in {names!r} if not hasattr(mod, n)])
    """
    extra = os.environ.get("PYTHONPATH")
    out = _run_python(code, **({"PYTHONPATH_EXTRA": extra} if extra else {}))
    kind, _, detail = out.rpartition("\n")[2].partition(" ")
    if kind == "missing":
        # milvus imports grpc (pymilvus' dependency) first, to make it cooperative
        assert dependency is not None and detail.split(".")[0] in (dependency, "openai", "grpc"), out
    elif kind == "error":  # oai without OPENAI_API_KEY
        assert module == "oai" and "OPENAI_API_KEY" in detail, out
    else:
        assert out.endswith("ok []"), out


def test_gevent_monkey_plugins_are_called_as_gevent_calls_them(tmp_path):
    # `import locust` reads the installed distributions' entry points once for the whole patch_all()
    # (locust._monkey_once); a distribution's plugins registered under gevent's monkey groups must still be found
    # and called with the same events, in the same order, as a plain `monkey.patch_all()` calls them.
    groups = ("will_patch_all", "will_patch_module", "did_patch_module", "did_patch_builtins", "did_patch_all")
    (tmp_path / "seen_plugin.py").write_text(
        textwrap.dedent("""
            import os
            def subscriber(event):
                with open(os.environ["SEEN_LOG"], "a") as f:
                    f.write(type(event).__name__ + " " + str(getattr(event, "module_name", "")) + "\\n")
        """)
    )
    info = tmp_path / "seen_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: seen-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[gevent.plugins.monkey.{g}]\nseen = seen_plugin:subscriber\n\n" for g in groups)
    )
    via_locust, plain = tmp_path / "via_locust.log", tmp_path / "plain.log"
    after = _run_python(
        """
        from importlib import metadata
        live = metadata.entry_points
        import locust
        print(metadata.entry_points is live)
        """,
        PYTHONPATH_EXTRA=str(tmp_path),
        SEEN_LOG=str(via_locust),
    )
    assert after == "True"  # the live lookup is back once patch_all() returns
    _run_python(
        "from gevent import monkey\nmonkey.patch_all()\n", PYTHONPATH_EXTRA=str(tmp_path), SEEN_LOG=str(plain)
    )
    seen = via_locust.read_text().splitlines()
    assert seen == plain.read_text().splitlines()
    assert seen[0].startswith("GeventWillPatchAllEvent") and seen[-1].startswith("GeventDidPatchAllEvent")
    assert sum(line.startswith("GeventDidPatchModuleEvent") for line in seen) >= 5
