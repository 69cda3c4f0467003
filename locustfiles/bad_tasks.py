# diff: -u 2 -r 100 -t 2s
# diff-check: all -shares
# diff-counts: abs=0 fine
# diff-expect: exit=1 rows=1 failures=0 exceptions=1 count[fine]=1
# diff-markers: mode=seq ^MARK
# diff-markers: mode=set ERROR/locust\.user\.task: .*
"""A `tasks` attribute of the wrong type. A string is iterated like a list, so its characters become the
tasks: every task run fails with "'str' object is not callable" (logged, the user waits and goes on).
Non-callable list entries fail the same way ("'int' object is not callable"); both share one _exceptions.csv
row, with the first message, as Locust keys the rows by the traceback text, which is the same. An int, a float or None as
`tasks`: an int or a float fails at class creation with "'int' object is not iterable" (in a real locustfile
that is an import error, exit 1, before any CSV is written, so it is shown here on classes built in an init
listener), and None is ignored (the class has no tasks). The classes built here are never run."""
import sys
import time

from locust import HttpUser, User, constant, events


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


@events.init.add_listener
def build_classes(environment, **kwargs):
    for label, value in (("int", 5), ("float", 1.5), ("none", None), ("dict-of-str", {"a": 2}),
                         ("tuple-pair", [("a", 2)]), ("bad-tuple", [(1, 2, 3)])):
        try:
            cls = type(f"Built_{label}", (User,), {"tasks": value, "abstract": True})
        except Exception as e:
            mark(f"tasks={value!r}: {type(e).__name__}: {e}")
        else:
            mark(f"tasks={value!r}: class built, tasks={cls.tasks!r}")


class Chars(User):
    """`tasks` is a string: the characters become the tasks."""

    wait_time = constant(0.2)
    tasks = "ab"

    def on_start(self):
        mark(f"Chars tasks={self.tasks!r}")


class Numbers(HttpUser):
    """One good task and one entry that is not callable."""

    fixed_count = 1
    wait_time = constant(0.2)

    def on_start(self):
        self.client.get("/hello", name="fine")
        time.sleep(0.1)  # (gevent-patched) the Chars users fail first, so their message is the row's
        mark(f"Numbers tasks={[getattr(t, '__name__', t) for t in self.tasks]!r}")

    tasks = [42]
