"""A locustfile's own options in the web UI side by side with real Locust 2.47 (locustfiles/custom_arg_actions.py:
every argparse action, nargs, choices, `is_secret`, `include_in_web_ui=False`, set from a config file and the
command line): the form's `extra_options` in the template args of `/` (each option's current value as its default,
so a flag's kind decides the form field: a bool is a checkbox), and the values a `/swarm` form gives them (a bool
from "true", a list of ints from "a,b", other kinds converted by the current value's type), as the locustfile's
test_start listener prints them. Binaries as in test_api.py.
"""

from __future__ import annotations

import re
import time

import pytest
from test_api import REPO, Server, target_url  # noqa: F401
from test_report import differences, template_args, tools

LOCUSTFILE = REPO / "locustfiles" / "custom_arg_actions.py"
ARGS = ("--config", str(REPO / "locustfiles" / "_custom_arg_actions.conf"), "--no-chat", "-vv", "--item", "z",
        "--maybe", "--shout", "cli")
SWARM = {"user_count": "1", "spawn_rate": "1", "chat": "true", "keep": "false", "yes": "false", "fast": "sure",
         "verbose": "5", "level": "4", "mode": "b", "items": "p,q", "ext": "7,8", "pair": "m", "maybe": "mm",
         "secret_token": "hidden"}


def marks(srv: Server, count: int, limit: float = 30) -> list[str]:
    """The locustfile's MARK lines once there are `count` of them (or after `limit` seconds)."""
    deadline = time.monotonic() + limit
    while True:
        found = re.findall(r"^MARK .*$", srv.log(), re.M)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


@pytest.fixture(scope="module")
def runs(target_url, tmp_path_factory):  # noqa: F811
    out = {}
    for tool, binary in tools().items():
        srv = Server(tool, binary, target_url, tmp_path_factory.mktemp(f"extra-{tool}"), ARGS, LOCUSTFILE)
        try:
            t = {"extra_options": template_args(srv.get("/").text)["extra_options"]}
            r = srv.post("/swarm", data=SWARM)
            t["swarm"] = (r.status_code, r.json().get("success"))
            t["marks"] = marks(srv, 1)
            srv.post("/stop")
            out[tool] = (t, srv.log())
        finally:
            srv.stop()
    return out


@pytest.mark.parametrize("key", ["extra_options", "swarm", "marks"])
def test_extra_options_side_by_side(runs, key):
    (lt, _), (rt, rlog) = runs["locust"], runs["rlocust"]
    assert lt[key], f"nothing from Locust for {key}"
    diff = differences(lt[key], rt[key])
    assert not diff, "\n".join(diff) + "\n" + rlog[-1500:]
