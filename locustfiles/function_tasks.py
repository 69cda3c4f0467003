# diff: -u 4 -r 100 -t 4s
# diff-shares: group=^(\w+): cluster=1
# diff-expect: exit=0 rows=8 failures=0
"""Plain functions as tasks (seeds 000/001): `tasks = [f, g]`, `tasks = {f: 3, g: 1}`, `(f, n)` tuples in a
list, and a set. Each class names its rows `<Class>:<task>` so the shares are compared within the class."""
from locust import HttpUser, constant


def browse(user):
    user.client.get("/items/1", name=f"{type(user).__name__}:browse")


def search(user):
    user.client.get("/json", name=f"{type(user).__name__}:search")


def checkout(user):
    user.client.post("/echo", json={"cart": [1, 2]}, name=f"{type(user).__name__}:checkout")


class ListUser(HttpUser):
    wait_time = constant(0)
    tasks = [browse, search]


class DictUser(HttpUser):
    wait_time = constant(0)
    tasks = {browse: 3, checkout: 1}


class TupleUser(HttpUser):
    wait_time = constant(0)
    tasks = [(search, 2), checkout]


class SetUser(HttpUser):
    wait_time = constant(0)
    tasks = {browse, checkout}
