"""The dashboard's template args and the HTML report side by side with real Locust 2.47.

- `--html` in a headless run: both tools write the file under the same name (`{u}`, `{r}`, `{t}` replaced, parent
  directories created); the page carries `window.templateArgs` with the same keys, value kinds and deterministic
  values, and the light theme.
- In web UI mode: `GET /` boots the page from the same template args (keys, kinds, values that do not depend on
  timing), before and during a test; the history gets Locust's 5 s points; `/stats/report` (and `?download=1`
  with its attachment name, `?theme=dark`) carries the report args.

rlocust's own pages differ from Locust's in everything but those args (its own UI), so the args are what is
compared. Binaries as in test_api.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from test_api import LOCUSTFILE, REPO, Server, _binary, _release, shape, target_url, wait_stats  # noqa: F401

REPORT_KEYS = {"is_report", "requests_statistics", "failures_statistics", "exceptions_statistics",
               "response_time_statistics", "start_time", "end_time", "duration", "host", "history",
               "show_download_link", "locustfile", "tasks", "percentiles_to_chart", "profile"}
# rlocust's own, beside Locust's: the run's parameters (issue 42; `baseline` too when the run has one)
RLOCUST_KEYS = {"run"}
UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def template_args(page: str) -> dict:
    """`window.templateArgs` of a page (Locust's Jinja `tojson` or rlocust's)."""
    i = page.index("window.templateArgs = ") + len("window.templateArgs = ")
    args, _ = json.JSONDecoder().raw_decode(page, i)
    return args


def theme(page: str) -> str:
    m = re.search(r'window\.theme = "(\w*)"', page)
    return m.group(1) if m else ""


def tools():
    return {
        "locust": _binary("LOCUST_BIN", str(REPO / ".venv-oracle" / "bin" / "locust")),
        "rlocust": _binary("RLOCUST_BIN", _release("rlocust")),
    }


def report_view(args: dict) -> dict:
    """What must agree between the tools in report args: keys, kinds and the values that do not depend on timing."""
    return {
        "keys": sorted(set(args) - RLOCUST_KEYS),
        "names": [(s["method"], s["name"]) for s in args["requests_statistics"]],
        "row shape": shape(args["requests_statistics"]),
        "percentile rows": [sorted(r) for r in args["response_time_statistics"]],
        "failures": sorted((f["method"], f["name"], f["error"]) for f in args["failures_statistics"]),
        "failure shape": shape(args["failures_statistics"]),
        "exceptions": [(e["msg"], e["nodes"]) for e in args["exceptions_statistics"]],
        "history shape": shape(args["history"][:1]),
        "times": [bool(UTC.match(args[k])) for k in ("start_time", "end_time")],
        # Locust's words ("N seconds", "1 second", "1 minute and 2 seconds"); the two runs may differ by a second, so
        # the number (and with it the plural) is not compared
        "duration words": re.fullmatch(r"(\d+ (day|hour|minute|second)s?(, | and )?)+", args["duration"]) is not None,
        "host": args["host"],
        "locustfile": args["locustfile"],
        "tasks": args["tasks"],
        "percentiles_to_chart": args["percentiles_to_chart"],
        "profile": args["profile"],
        "show_download_link": args["show_download_link"],
        "is_report": args["is_report"],
    }


@pytest.fixture(scope="module")
def html_runs(target_url, tmp_path_factory):  # noqa: F811
    out = {}
    for tool, binary in tools().items():
        work = tmp_path_factory.mktemp(f"html-{tool}")
        cmd = [binary, "-f", str(LOCUSTFILE), "--headless", "-H", target_url, "-u", "4", "-r", "4", "-t", "7s",
               "--html", "out/sub/report_{u}_{r}_{t}.html", "--only-summary"]
        proc = subprocess.run(cmd, cwd=work, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        files = sorted(str(p.relative_to(work)) for p in work.rglob("*.html"))
        page = (work / files[0]).read_text() if files else ""
        out[tool] = (files, page, proc.stderr.decode(errors="replace"))
    return out


def test_html_file_name_and_args(html_runs):
    (lfiles, lpage, _), (rfiles, rpage, rlog) = html_runs["locust"], html_runs["rlocust"]
    assert lfiles == ["out/sub/report_4_4_7.html"]
    assert rfiles == lfiles, rlog[-2000:]
    largs, rargs = template_args(lpage), template_args(rpage)
    assert set(rargs) == REPORT_KEYS | RLOCUST_KEYS and set(largs) == REPORT_KEYS
    assert rargs["run"]["users"] == 4 and rargs["run"]["run_time_s"] == 7 and rargs["run"]["locust_version"] == "2.47.0"
    assert not differences(report_view(largs), report_view(rargs))
    assert theme(rpage) == theme(lpage) == "light"
    assert rargs["show_download_link"] is False
    # a 7 s run has at least one history point, the last one stamped with the end time
    assert rargs["history"] and rargs["history"][-1]["time"] <= rargs["end_time"]
    # self-contained: no external script, stylesheet or font
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', rpage)
    assert len(rpage) < 250_000


def index_view(args: dict) -> dict:
    # search_form: rlocust's own key (its start form offers a capacity search), absent from Locust's args
    v = {k: x for k, x in args.items() if k not in ("history", "state", "user_count", "search_form")}
    v["history shape"] = shape(args["history"][:1])
    return v


def web_transcript(srv: Server) -> dict:
    t = {}
    r = srv.get("/")
    t["ready index"] = (r.status_code, r.headers.get("Content-Type"), index_view(template_args(r.text)),
                        template_args(r.text)["state"])
    srv.post("/swarm", data={"user_count": "4", "spawn_rate": "4", "profile": "nightly"})
    wait_stats(srv, lambda d: d["state"] == "running" and d["user_count"] == 4)
    # the first 5 s history point (Locust samples every 5 s while a test runs)
    deadline = time.monotonic() + 15
    while True:
        r = srv.get("/")
        args = template_args(r.text)
        if args["history"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    t["running index"] = (r.status_code, index_view(args), args["state"], args["user_count"])
    t["history points"] = len(args["history"]) >= 1
    # every table of the report has a row before it is taken: the task exception and both failures (each is a
    # random pick of the users' tasks, so a slow machine may not have reached one yet)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        errors = srv.get("/stats/requests").json()["errors"]
        if srv.get("/exceptions").json()["exceptions"] and len(errors) >= 2:
            break
        time.sleep(0.5)
    r = srv.get("/stats/report")
    page = r.text
    t["report"] = (r.status_code, r.headers.get("Content-Type"), r.headers.get("Content-Disposition"),
                   report_view(template_args(page)), theme(page))
    r = srv.get("/stats/report", params={"download": "1", "theme": "dark"})
    disposition = re.sub(r"\d{4}-\d\d-\d\d-\d\dh\d\d", "<time>", r.headers.get("Content-Disposition", ""))
    t["report download"] = (r.status_code, disposition, template_args(r.text)["show_download_link"], theme(r.text))
    srv.post("/stop")
    return t


@pytest.fixture(scope="module")
def web_runs(target_url, tmp_path_factory):  # noqa: F811
    out = {}
    for tool, binary in tools().items():
        srv = Server(tool, binary, target_url, tmp_path_factory.mktemp(f"web-{tool}"))
        try:
            out[tool] = (web_transcript(srv), srv.log())
        finally:
            srv.stop()
    return out


def differences(a, b, path="") -> list[str]:
    """Where two JSON-like values differ, as paths."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k, "<missing>"), b.get(k, "<missing>"),
                                                                          f"{path}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: locust {a!r} rlocust {b!r}"]


@pytest.mark.parametrize("key", ["ready index", "running index", "history points", "report", "report download"])
def test_web_pages_args(web_runs, key):
    (lt, _), (rt, rlog) = web_runs["locust"], web_runs["rlocust"]
    diff = differences(lt[key], rt[key])
    assert not diff, "\n".join(diff) + "\n" + rlog[-1500:]


def picker_transcript(srv: Server) -> dict:
    t = {}
    args = template_args(srv.get("/").text)
    t["picker args"] = {k: args[k] for k in ("show_userclass_picker", "available_user_classes", "users",
                                             "available_user_tasks", "available_shape_classes")}
    r = srv.post("/swarm", data={"user_count": "3", "spawn_rate": "10", "user_classes": "OtherUser"})
    t["picked swarm"] = (r.status_code, r.json())
    doc = wait_stats(srv, lambda d: d["user_count"] == 3 and len(d["stats"]) > 1)
    t["picked stats"] = sorted(s["name"] for s in doc["stats"])
    t["picked tasks"] = srv.get("/tasks").json()
    # an edit without a pick keeps the running classes
    r = srv.post("/swarm", data={"user_count": "4", "spawn_rate": "10"})
    t["edit keeps the pick"] = r.json()
    srv.post("/stop")
    return t


@pytest.fixture(scope="module")
def picker_runs(target_url, tmp_path_factory):  # noqa: F811
    out = {}
    for tool, binary in tools().items():
        srv = Server(tool, binary, target_url, tmp_path_factory.mktemp(f"picker-{tool}"), ("--class-picker",))
        try:
            out[tool] = (picker_transcript(srv), srv.log())
        finally:
            srv.stop()
    return out


@pytest.mark.parametrize("key", ["picker args", "picked swarm", "picked stats", "picked tasks", "edit keeps the pick"])
def test_class_picker(picker_runs, key):
    (lt, _), (rt, rlog) = picker_runs["locust"], picker_runs["rlocust"]
    diff = differences(lt[key], rt[key])
    assert not diff, "\n".join(diff) + "\n" + rlog[-1500:]


SHAPE_LOCUSTFILE = REPO / "locustfiles" / "load_shape.py"


def shape_transcript(srv: Server) -> dict:
    """A LoadTestShape in the web UI: the form hides the counts, a start runs the shape, its end stops the test
    (the UI stays up), a second start runs it again, /stop ends it."""
    t = {}
    args = template_args(srv.get("/").text)
    t["shape args"] = {k: args[k] for k in ("hide_common_options", "shape_use_common_options",
                                             "available_shape_classes", "state")}
    r = srv.post("/swarm", data={"user_count": "1", "spawn_rate": "1"})
    t["shape swarm"] = (r.status_code, r.json())
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        doc = srv.get("/stats/requests").json()
        step = (doc["state"], doc["user_count"])
        if not seen or seen[-1] != step:
            seen.append(step)
        if doc["state"] == "stopped":
            break
        time.sleep(0.3)
    # the counts the shape ramps through, and the stop at its end (the 2 s memo may skip a step)
    t["shape steps"] = (("running", 4) in seen or ("spawning", 4) in seen, seen[-1])
    r = srv.post("/swarm", data={})
    t["shape again"] = (r.status_code, r.json())
    doc = wait_stats(srv, lambda d: d["state"] in ("spawning", "running") and d["user_count"] >= 2, limit=10)
    t["shape again runs"] = doc["state"] in ("spawning", "running")
    r = srv.post("/stop")
    t["shape stop"] = (r.status_code, r.json())
    time.sleep(2.1)
    t["shape stopped"] = srv.get("/stats/requests").json()["state"]
    t["alive"] = srv.proc.poll() is None
    log = srv.log()
    t["log lines"] = [line for line in ("Shape test starting", "Shape worker starting", "Shape test stopping",
                                        "Shape test updating to 4 users") if line in log]
    return t


@pytest.fixture(scope="module")
def shape_runs(target_url, tmp_path_factory):  # noqa: F811
    out = {}
    for tool, binary in tools().items():
        srv = Server(tool, binary, target_url, tmp_path_factory.mktemp(f"shape-{tool}"), locustfile=SHAPE_LOCUSTFILE)
        try:
            out[tool] = (shape_transcript(srv), srv.log())
        finally:
            srv.stop()
    return out


@pytest.mark.parametrize("key", ["shape args", "shape swarm", "shape steps", "shape again", "shape again runs",
                                 "shape stop", "shape stopped", "alive", "log lines"])
def test_shape_in_the_web_ui(shape_runs, key):
    (lt, _), (rt, rlog) = shape_runs["locust"], shape_runs["rlocust"]
    diff = differences(lt[key], rt[key])
    assert not diff, "\n".join(diff) + "\n" + rlog[-1500:]
