# diff: -u 1 -r 100 -t 20s
# diff-check: all -shares -failures
# diff-markers: mode=set ^MARK .*
"""The failure texts of rest()/rest_() blocks: an exception in the block fails the request with its class, text,
the frames of the traceback that lie in files with absolute paths (Locust's own rest()/rest_() among them, at the
lines of their `yield`, then the locustfile's) and the response text; an assertion fails it with its message (a
trailing comma adds the response). The failures check is off: the texts name each tool's installation; the
markers print them with that directory cut off (the locustfile's own path stays as it is for both)."""
import re
import sys

import gevent

from locust import HttpUser, constant, events, task

_INSTALL = re.compile(r"(?:/[^ ,]*|<rlocust>)/locust/(user|contrib)/")


@events.request.add_listener
def on_request(name, exception, **kwargs):
    if exception is not None:
        text = _INSTALL.sub(r".../locust/\1/", str(exception))
        print(f"MARK {name}: {type(exception).__name__}: {text}", file=sys.stderr)


class Rest(HttpUser):
    wait_time = constant(100)

    @task
    def cases(self):
        with self.rest("GET", "/json", name="zero division") as resp:
            1 / 0  # noqa: B018
        with self.rest_("GET", "/json", name="key error in rest_") as resp:
            resp.js["missing"]
        with self.rest("GET", "/json", name="assert message") as resp:
            assert resp.js["greeting"] == "bye", "unexpected greeting"
        with self.rest("GET", "/json", name="assert with response,") as resp:
            assert resp.js["greeting"] == "bye", "unexpected greeting,"
        with self.rest("GET", "/json", name="bare assert") as resp:
            assert resp.js["greeting"] == "bye"
        with self.rest("GET", "/hello", name="not json") as resp:
            pass
        gevent.sleep(1.5)  # (Locust writes its stats CSV once a second, not at the end)
        self.environment.runner.quit()
