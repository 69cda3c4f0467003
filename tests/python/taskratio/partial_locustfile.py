"""A task without __name__ (functools.partial): --show-task-ratio fails after printing its header."""
import functools

from locust import User, constant


def visit(user, page):
    pass


class PartialUser(User):
    wait_time = constant(1)
    tasks = [functools.partial(visit, page=1)]
