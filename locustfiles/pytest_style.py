# diff[default]: -u 4 -r 100 -t 3s
# diff[assert]: -u 4 -r 100 -t 3s
# diff-env[assert]: PYTEST_STYLE_ASSERT=1
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-expect: exceptions=0
# diff-expect[default]: exit=1 rows=5 failures=1
# diff-expect[assert]: exit=1 rows=6 failures=2
"""A pytest-style locustfile (no User class: Locust collects the file with pytest and makes a user of each test
function, called in a loop with its `session`/`fastsession` fixture). Failed requests that a test raises on
(`raise_for_status()`, FastHttpUser's status error) only end that call; with PYTEST_STYLE_ASSERT a failing
`assert` ends its user (an unhandled greenlet exception). The fixtures' sessions are the users' clients: they
report to the users' request event, use -H, keep cookies."""
import os
import sys

from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

SEEN = set()


def mark(text):
    if text not in SEEN:
        SEEN.add(text)
        print(f"MARK {text}", file=sys.stderr, flush=True)


def test_hello(session: HttpSession):
    resp = session.get("/hello")
    resp.raise_for_status()
    mark(f"hello {type(session).__name__} {resp.status_code} user={type(session.user).__name__}")


def test_fast(fastsession: FastHttpSession):
    with fastsession.rename_request("renamed"):
        fastsession.get("/hello")
    mark(f"fast {type(fastsession).__name__} user={type(fastsession.user).__name__}")
    fastsession.get("/status/404").raise_for_status()
    mark("fast not reached")


def test_json(session):
    data = session.get("/json").json()
    mark(f"json {sorted(data) if isinstance(data, dict) else type(data).__name__}")


if os.environ.get("PYTEST_STYLE_ASSERT"):
    def test_assert(session):
        assert session.get("/status/500").status_code == 200


class TestGrouped:
    def test_hello(self, session):  # same name as the module-level test: one user class runs both
        session.get("/items/1")
