# diff: -u 4 -r 100 -t 4s
# diff-shares: cluster=8
# diff-expect: exit=0 rows=7 failures=0
"""Nested TaskSets: a `tasks = {TaskSet: n}` dict plus an @task method on the User, a TaskSet inside a TaskSet
(inline @task class), TaskSet.on_start, and self.interrupt() with and without reschedule."""
from locust import HttpUser, TaskSet, constant, task


class Forum(TaskSet):
    def on_start(self):
        self.client.get("/hello", name="forum:enter")

    @task(3)
    def read_thread(self):
        self.client.get("/items/1", name="forum:read")

    @task(1)
    def new_thread(self):
        self.client.post("/echo", json={"title": "hi"}, name="forum:new")

    @task(1)
    class Moderation(TaskSet):
        @task(2)
        def ban(self):
            self.client.post("/echo", json={"ban": 1}, name="forum:moderation:ban")

        @task(1)
        def back_to_forum(self):
            self.interrupt()

    @task(1)
    def leave(self):
        self.interrupt()


class Shop(TaskSet):
    @task(2)
    def browse(self):
        self.client.get("/json", name="shop:browse")

    @task(1)
    def leave(self):
        self.client.get("/", name="shop:leave")
        self.interrupt(reschedule=False)


class Visitor(HttpUser):
    wait_time = constant(0)
    tasks = {Forum: 2, Shop: 1}

    @task
    def index(self):
        self.client.get("/", name="root:index")
