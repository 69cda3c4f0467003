# diff: -u 20 -r 100 -t 3s
# diff-check: all -shares
# diff-expect: exit=0 failures=0
# diff-markers: mode=seq ^MARK .*
"""A request listener added mid-run, while most users wait on their requests (the target answers after 20 ms), and
removed a second later, from a greenlet of the locustfile's own: it sees exactly the requests whose call returns
to its task while it is attached, with their names and lengths, HttpUser's and FastHttpUser's alike. (rlocust's
engine records a request no listener waits for itself; one added while the request is out must still see it.)"""
import gevent

from locust import FastHttpUser, HttpUser, constant, events, task

state = {"on": False, "seen": 0, "returned": 0, "names": set(), "lengths": set(), "errors": 0}


def listener(name, response_length, exception, **kw):
    state["seen"] += 1
    state["names"].add(name)
    state["lengths"].add(response_length)
    state["errors"] += exception is not None


def attach_for_a_second():
    gevent.sleep(1)
    state["on"] = True
    events.request.add_listener(listener)
    gevent.sleep(1)
    events.request.remove_listener(listener)
    state["on"] = False


@events.test_start.add_listener
def _(environment, **kw):
    gevent.spawn(attach_for_a_second)


@events.test_stop.add_listener
def _(environment, **kw):
    print("MARK listener saw every request that returned while it was attached:",
          state["seen"] == state["returned"] and state["seen"] > 0, flush=True)
    print("MARK names", sorted(state["names"]), "lengths", sorted(state["lengths"]), "errors", state["errors"],
          flush=True)


def call(client, name):
    client.get("/delay/20", name=name)
    if state["on"]:
        state["returned"] += 1


class Plain(HttpUser):
    weight = 1
    wait_time = constant(0)

    @task
    def t(self):
        call(self.client, "plain")


class Fast(FastHttpUser):
    weight = 1
    wait_time = constant(0)

    @task
    def t(self):
        call(self.client, "fast")
