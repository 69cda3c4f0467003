# diff: -u 2 -r 10 -t 3s
# diff-check: names failures exceptions exit markers
# diff-expect: exit=0 failures=0
# diff-markers: mode=set ^MARK .*
"""What a locustfile's own `requests` sends and decodes next to the users' clients: Locust's install brings brotli
(through geventhttpclient), so urllib3 advertises `br` (`Accept-Encoding: gzip, deflate, br`) and decodes it for
`requests.get` called in a task as for HttpUser's client; FastHttpUser sends `gzip, deflate, br` itself. The target
echoes the request's headers and serves a brotli body."""
import requests
import urllib3

from locust import FastHttpUser, HttpUser, constant, task
from locust.exception import StopUser


class Requests(HttpUser):
    wait_time = constant(0)

    @task
    def encodings(self):
        seen = requests.get(self.host + "/headers", timeout=10).json()["headers"]
        print("MARK requests.get Accept-Encoding", seen.get("accept-encoding"))
        with requests.Session() as s:
            print("MARK requests.Session default", s.headers.get("Accept-Encoding"))
            print("MARK requests.Session brotli body", s.get(self.host + "/brotli", timeout=10).content)
        print("MARK urllib3 make_headers", urllib3.util.make_headers(accept_encoding=True))
        seen = self.client.get("/headers").json()["headers"]
        print("MARK HttpUser Accept-Encoding", seen.get("accept-encoding"), self.client.headers.get("Accept-Encoding"))
        print("MARK HttpUser brotli body", self.client.get("/brotli").content)
        raise StopUser()


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def encodings(self):
        seen = self.client.get("/headers").json()["headers"]
        print("MARK FastHttpUser Accept-Encoding", seen.get("accept-encoding"))
        print("MARK FastHttpUser brotli body", self.client.get("/brotli").content)
        raise StopUser()
