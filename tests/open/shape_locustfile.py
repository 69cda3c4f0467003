"""An ArrivalRateShape: 0 -> 40/s over 1 s, 40/s for 2 s, then the test ends by itself (40 * 0.5 + 40 * 2 = 100
arrivals)."""

from locust import HttpUser, task
from locust.shape import ArrivalRateShape


class Visitor(HttpUser):
    @task
    def visit(self):
        self.client.get("/delay/5", name="visit")


class Ramp(ArrivalRateShape):
    start_rate = 0
    stages = [(1, 40), ("2s", 40)]
    max_users = 8
