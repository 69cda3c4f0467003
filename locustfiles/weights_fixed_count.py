# diff: -u 10 -r 100 -t 3s
# diff-check: all -shares
# diff-counts: abs=0 spawn:.*|admin:restart
# diff-expect: exit=0 rows=8 count[spawn:AdminUser]=1 count[spawn:WebUser]=6 count[spawn:MobileUser]=2 count[spawn:TabletUser]=1
"""User classes with weights (3, 1, 0.5, 0) and fixed_count (seeds 000/001). on_start records one request per
spawned user, so the spawn counts per class are compared exactly."""
from locust import HttpUser, constant, task


class SpawnCounted(HttpUser):
    abstract = True
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/hello", name=f"spawn:{type(self).__name__}")


class WebUser(SpawnCounted):
    weight = 3

    @task
    def page(self):
        self.client.get("/items/1", name="web:page")


class MobileUser(SpawnCounted):
    weight = 1

    @task
    def api(self):
        self.client.get("/json", name="mobile:api")


class TabletUser(SpawnCounted):
    weight = 0.5

    @task
    def page(self):
        self.client.get("/", name="tablet:page")


class NeverUser(SpawnCounted):
    weight = 0

    @task
    def page(self):
        self.client.get("/", name="never")


class AdminUser(SpawnCounted):
    wait_time = constant(600)
    fixed_count = 1

    @task
    def restart_app(self):
        self.client.post("/echo", json={"restart": True}, name="admin:restart")
