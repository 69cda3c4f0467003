# diff[include]: -u 2 -r 2 -t 3s -T tag1
# diff[exclude]: -u 2 -r 2 -t 3s -E tag3
# diff[mixed]: -u 2 -r 2 -t 3s -T tag1 tag3 -E tag2
# diff[none-left]: -u 1 -r 1 -t 3s -T no-such-tag
# diff-check[none-left]: all -shares
# diff-expect[include]: exit=0 rows=2
# diff-expect[exclude]: exit=0 rows=3
# diff-expect[mixed]: exit=0 rows=3
# diff-expect[none-left]: exit=1 rows=0 exceptions=1
# diff-shares: cluster=1
"""Tags (seed 000): @tag on methods and on a nested TaskSet, selected with -T/--tags and -E/--exclude-tags."""
from locust import HttpUser, TaskSet, constant, tag, task


class MyUser(HttpUser):
    wait_time = constant(0.002)

    @tag("tag1")
    @task
    def task1(self):
        self.client.get("/items/1", name="task1")

    @tag("tag1", "tag2")
    @task
    def task2(self):
        self.client.get("/items/2", name="task2")

    @tag("tag3")
    @task
    def task3(self):
        self.client.get("/items/3", name="task3")

    @task
    def task4(self):
        self.client.get("/items/4", name="task4")

    @tag("tag3")
    @task
    class Tagged(TaskSet):
        @task
        def nested(self):
            self.client.get("/items/5", name="nested")
            self.interrupt()
