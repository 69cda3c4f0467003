"""The only User class has weight 0: there is no user to run (exit 1)."""
from locust import User, constant, task


class NobodyUser(User):
    wait_time = constant(1)
    weight = 0

    @task
    def t(self):
        pass
