"""Helper of shape_duplicates.py: a second, different LoadTestShape with the same name."""
from locust import LoadTestShape


class Steps(LoadTestShape):
    def tick(self):
        return None
