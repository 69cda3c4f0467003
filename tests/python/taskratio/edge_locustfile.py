"""Task lists for --show-task-ratio: a dict and (task, n) tuples, a lambda, a SequentialTaskSet inside a TaskSet,
two different tasks with one name in one list (Gamma.read and the inherited Alpha.read), tags, fixed_count,
a fractional weight, an option of the locustfile's own, and an init listener (Locust does not fire init)."""
from locust import SequentialTaskSet, TaskSet, User, constant, events, tag, task


def standalone(user):
    pass


def other_standalone(user):
    pass


class Inner(SequentialTaskSet):
    @task(3)
    def step(self):
        pass

    @tag("x")
    @task
    def step2(self):
        pass


class Outer(TaskSet):
    tasks = [(Inner, 2), standalone, lambda ts: None]

    @task(2)
    def read(self):
        pass


class Alpha(User):
    wait_time = constant(1)
    weight = 3
    tasks = {Outer: 3, standalone: 1, other_standalone: 2}

    @task(5)
    def read(self):
        pass


class Beta(User):
    wait_time = constant(1)
    fixed_count = 2
    tasks = [standalone, standalone, Inner]


class Gamma(Alpha):
    weight = 0.4

    @task
    def read(self):
        pass


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--shop-size", type=int, default=1)


@events.init.add_listener
def _on_init(environment, **_kwargs):
    print("init fired")
