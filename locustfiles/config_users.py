# diff[counts]: -u 3 -r 10 -t 2s
# diff[tasks]: -u 1 -r 10 -t 2s Alpha
# diff[unknown]: -u 1 -t 2s
# diff-extra-args[counts]: --config-users '[{"user_class_name":"Alpha","fixed_count":1},{"user_class_name":"Beta","fixed_count":2}]'
# diff-extra-args[tasks]: --config-users '{"user_class_name":"Alpha","tasks":["two"],"wait_time_marker":"set"}'
# diff-extra-args[unknown]: --config-users '{"user_class_name":"Gamma","weight":2}'
# diff-csv[unknown]: none
# diff-check: names failures exceptions exit markers
# diff-check[unknown]: exit markers
# diff-expect[counts]: exit=0
# diff-expect[tasks]: exit=0
# diff-expect[unknown]: exit=255
# diff-markers: mode=set ^MARK .*|Error applying user config.*
"""`--config-users` changes User class attributes before the test (Locust's Environment.update_user_class): here
fixed_count per class, the class's tasks by name, any other attribute; a class that does not exist is an error
and exit code 255 (Locust's sys.exit(-1))."""
import sys

from locust import HttpUser, constant, events, task


@events.test_start.add_listener
def on_test_start(environment, **_kw):
    for cls in environment.user_classes:
        print(f"MARK {cls.__name__} fixed_count={cls.fixed_count} tasks={sorted(t.__name__ for t in cls.tasks)} "
              f"marker={getattr(cls, 'wait_time_marker', None)}", file=sys.stderr, flush=True)


class Alpha(HttpUser):
    wait_time = constant(0.05)  # enough picks in 2 s that both tasks run (0.2 s gave 5: all one task 1 in 16)

    @task
    def one(self):
        self.client.get("/hello", name="alpha one")

    @task
    def two(self):
        self.client.get("/world", name="alpha two")


class Beta(HttpUser):
    wait_time = constant(0.2)

    @task
    def three(self):
        self.client.get("/hello", name="beta")
