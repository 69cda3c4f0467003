"""25 request names, more than the 20 distinct `name` attributes Locust's --otel keeps (tests/otel)."""

from locust import HttpUser, constant, task


class Many(HttpUser):
    wait_time = constant(0.2)

    @task
    def calls(self):
        for i in range(25):
            self.client.get(f"/items/{i}", name=f"item {i:02d}")
