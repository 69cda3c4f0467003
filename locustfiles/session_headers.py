# diff: -u 1 -r 100 -t 20s
# diff-check: all -shares
# diff-markers: mode=set ^MARK .*
# diff-normalize: 127\.0\.0\.1:\d+ => HOST
# diff-markers: mode=count ^MARK done
"""The headers requests sends besides a locustfile's own: requests' defaults (User-Agent python-requests, Accept,
Accept-Encoding, Connection) while `client.headers` is the session's own dict, and what urllib3 (and http.client
under it) add once it was replaced by a plain dict or a header was removed: `Accept-Encoding: identity` and
`User-Agent: python-urllib3/<version>`, nothing else. Each case prints the headers the server received (the
target's /headers echo, names in lower case); the user then ends the test."""
import sys

import gevent
import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from locust import HttpUser, constant, task


def seen(client, path, **kwargs):
    method = kwargs.pop("method", "GET")
    got = client.request(method, "/headers", name=path, **kwargs).json()["headers"]
    got.pop("host", None)
    # (the versions installed beside each tool)
    versions = {f"python-urllib3/{urllib3.__version__}": "python-urllib3/<installed>",
                f"python-requests/{requests.__version__}": "python-requests/<installed>"}
    return sorted((k, versions.get(v, v)) for k, v in got.items())


class Probe(HttpUser):
    wait_time = constant(100)

    @task
    def cases(self):
        c = self.client
        cases = [
            ("default", lambda: seen(c, "default")),
            ("extra", lambda: seen(c, "extra", headers={"X-A": "1"})),
            ("remove ua", lambda: seen(c, "remove ua", headers={"User-Agent": None})),
            ("remove accept-encoding", lambda: seen(c, "remove ae", headers={"accept-encoding": None})),
        ]
        for name, fn in cases:
            print(f"MARK {name}: {fn()}", file=sys.stderr)
        c.headers["Authorization"] = "Bearer m"
        print(f"MARK mutated: {seen(c, 'mutated')}", file=sys.stderr)
        del c.headers["User-Agent"]
        print(f"MARK ua deleted: {seen(c, 'ua deleted')}", file=sys.stderr)
        c.headers = {"Authorization": "Bearer x"}
        print(f"MARK replaced: {seen(c, 'replaced')}", file=sys.stderr)
        print(f"MARK replaced extra: {seen(c, 'replaced extra', headers={'X-B': '2'})}", file=sys.stderr)
        print(f"MARK replaced post: {seen(c, 'replaced post', method='POST', data='abc')}", file=sys.stderr)
        print(f"MARK replaced json: {seen(c, 'replaced json', method='POST', json={'a': 1})}", file=sys.stderr)
        c.headers = {"user-agent": "mine", "accept-encoding": "gzip"}
        print(f"MARK own ua: {seen(c, 'own ua')}", file=sys.stderr)
        c.headers = CaseInsensitiveDict({"X-C": "3"})
        print(f"MARK requests dict: {seen(c, 'requests dict')}", file=sys.stderr)
        c.headers = {}
        print(f"MARK empty: {seen(c, 'empty')}", file=sys.stderr)
        print("MARK done", file=sys.stderr)
        gevent.sleep(1.5)  # (Locust writes its stats CSV once a second, not at the end)
        self.environment.runner.quit()
