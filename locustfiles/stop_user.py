# diff: -u 5 -r 100 -t 3s
# diff-check: all -shares
# diff-counts: abs=0 .*
# diff-markers: mode=count ^MARK
# diff-expect: exit=0 failures=0 exceptions=0 count[finite:work]=15 count[finite:on_stop]=3 count[interrupter]=1 count[reschedule-now]=3
"""Users that end themselves: StopUser after a fixed number of tasks (on_stop still runs, users are never
respawned), RescheduleTaskImmediately, and the quirk that raising InterruptTaskSet (what TaskSet.interrupt() raises) in a
*User-level* task kills that user without running on_stop (and without an error row). Every request count here is exact."""
import sys

from locust import HttpUser, constant, task
from locust.exception import InterruptTaskSet, RescheduleTaskImmediately, StopUser


class Finite(HttpUser):
    wait_time = constant(0.01)
    weight = 3

    def on_start(self):
        self.n = 0

    @task
    def work(self):
        self.n += 1
        self.client.get("/items/1", name="finite:work")
        if self.n >= 5:
            raise StopUser()

    def on_stop(self):
        self.client.get("/hello", name="finite:on_stop")
        print("MARK Finite on_stop", file=sys.stderr)


class Interrupter(HttpUser):
    fixed_count = 1
    wait_time = constant(0.01)

    @task
    def leave(self):
        self.client.get("/hello", name="interrupter")
        raise InterruptTaskSet()

    def on_stop(self):
        print("MARK Interrupter on_stop (must not happen)", file=sys.stderr)


class Immediate(HttpUser):
    fixed_count = 1
    wait_time = constant(10)

    def on_start(self):
        self.n = 0

    @task
    def again(self):
        self.n += 1
        if self.n <= 3:
            self.client.get("/json", name="reschedule-now")
            raise RescheduleTaskImmediately()
        raise StopUser()
