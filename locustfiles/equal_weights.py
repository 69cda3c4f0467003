# diff: -u 4 -r 100 -t 4s --equal-weights
# diff-shares: cluster=1 group=^(\w+): ^[AB]:.*
# diff-counts: abs=0 spawn:.*
# diff-expect: exit=0 rows=9 failures=0 exceptions=0 count[spawn:A]=2 count[spawn:B]=2
"""--equal-weights: every User class gets weight 1 (so 2 + 2 users, not 5 : 1), and each class's tasks become
the distinct callables reachable through its nested TaskSets, equally likely and called with the User
itself (so a TaskSet's on_start never runs). `shared` is in both classes' lists; `B.report` is listed
twice."""
from locust import HttpUser, TaskSet, constant, task


def shared(user):
    user.client.get("/", name=f"{type(user).__name__}:shared")


class Browse(TaskSet):
    def on_start(self):
        self.client.get("/hello", name="browse:on_start")

    @task(5)
    def item(self):
        self.client.get("/items/1", name="A:item")

    @task(1)
    class Deep(TaskSet):
        @task(3)
        def deep(self):
            self.client.get("/json", name="A:deep")


class Counted(HttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self):
        self.client.get("/hello", name=f"spawn:{type(self).__name__}")


class A(Counted):
    weight = 5
    tasks = {Browse: 4, shared: 1}

    @task(10)
    def home(self):
        self.client.get("/", name="A:home")


def report(user):
    user.client.post("/echo", json={"r": 1}, name="B:report")


class B(Counted):
    weight = 1
    tasks = [shared, report, report]

    @task(7)
    def b(self):
        self.client.get("/items/2", name="B:b")
