# diff: -u 3 -r 100 -t 4s
# diff-shares: cluster=2 session:.*
# diff-counts: abs=0 login:.*
# diff-expect: exit=1 failures=2 exceptions=0 count[login:form]=2 count[login:bad]=1
"""Sessions (seeds 000/003): on_start logs in (form and JSON bodies) and the session cookie rides along; a user
whose login fails (401 failure row); cookies set by the server; basic auth; redirects with history; multipart
upload; gzip; custom headers. Each check that could silently go wrong reports a failure with a clear text."""
from locust import HttpUser, constant, task


class LoggedInUser(HttpUser):
    wait_time = constant(0)
    weight = 2

    def on_start(self):
        r = self.client.post("/login", data={"username": "ann", "password": "secret"}, name="login:form")
        self.token = r.json()["token"]
        self.expected_user = "ann"

    @task(3)
    def me(self):
        with self.client.get("/me", name="session:me", catch_response=True) as r:
            if r.status_code != 200 or r.json().get("user") != self.expected_user:
                r.failure(f"session cookie not sent: {r.status_code}")

    @task
    def json_login_and_bearer(self):
        # The new session cookie replaces the old one in the jar.
        r = self.client.post("/login", json={"username": "bob", "password": "pw"}, name="session:login json")
        self.expected_user = "bob"
        with self.client.get("/me", headers={"Authorization": f"Bearer {r.json()['token']}"},
                             name="session:me bearer", catch_response=True) as r2:
            if r2.json().get("user") != "bob":
                r2.failure("bearer token not accepted")

    @task
    def cookies(self):
        self.client.get("/set-cookie?flavor=choc", name="session:set-cookie")
        with self.client.get("/cookies", name="session:cookies", catch_response=True) as r:
            if r.json()["cookies"].get("flavor") != "choc":
                r.failure("cookie jar lost the cookie")

    @task
    def basic_auth(self):
        self.client.get("/basic-auth/u/p", auth=("u", "p"), name="session:basic-auth")

    @task
    def redirects(self):
        with self.client.get("/redirect/3", name="session:redirect", catch_response=True) as r:
            if len(r.history) != 3 or not r.url.endswith("/hello") or r.text != "Hello!":
                r.failure(f"redirect chain not followed: {len(r.history)} {r.url}")

    @task
    def upload(self):
        with self.client.post("/upload", files={"file": ("a.txt", b"hello")}, data={"k": "v"},
                              name="session:upload", catch_response=True) as r:
            body = r.json()
            if body["files"][0]["size"] != 5 or body["fields"].get("k") != "v":
                r.failure(f"multipart body wrong: {body}")

    @task
    def gzip_and_headers(self):
        with self.client.get("/gzip", name="session:gzip", catch_response=True) as r:
            if r.json().get("gzipped") is not True:
                r.failure("gzip body not decoded")
        with self.client.get("/headers", headers={"X-Test": "1"}, name="session:headers", catch_response=True) as r:
            if r.json()["headers"].get("x-test") != "1":
                r.failure("custom header not sent")


class BadLoginUser(HttpUser):
    fixed_count = 1
    wait_time = constant(0.2)

    def on_start(self):
        self.client.post("/login", json={"username": "mallory", "password": "bad"}, name="login:bad")

    @task
    def me(self):
        self.client.get("/me", name="anon:me")
