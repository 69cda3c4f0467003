__all__ = (
    "HttpUser",
    "TaskSet",
    "User",
    "tag",
    "task",
)

# Importing the name ``task`` after the submodule of the same name rebinds the package
# attribute to the decorator (as in Locust); sys.modules["locust.user.task"] stays the module.
from .task import TaskSet, tag, task
from .users import HttpUser, User
