"""SequentialTaskSet (rlocust shim of ``locust.user.sequential_taskset``)."""

from itertools import cycle

from locust.exception import LocustError

from .task import TaskSet, TaskSetMeta


class SequentialTaskSetMeta(TaskSetMeta):
    """Collects tasks in declaration order: inherited ones, then the class body in order,
    where the ``tasks`` attribute (list, or dict of repeat counts) is placed where it was
    assigned and each ``@task`` item is repeated ``weight`` times."""

    def __new__(mcs, classname, bases, class_dict):
        ordered = []
        for base in bases:
            inherited = getattr(base, "tasks", None)
            if inherited:
                ordered += inherited
        for key, value in class_dict.items():
            if key == "tasks":
                if isinstance(value, list):
                    ordered.extend(value)
                elif isinstance(value, dict):
                    for fn, count in value.items():
                        ordered.extend(fn for _ in range(count))
                else:
                    raise ValueError(
                        "The 'tasks' attribute can only be set to list or dict"
                    )
            if "locust_task_weight" in dir(value):
                ordered.extend(value for _ in range(value.locust_task_weight))
        class_dict["tasks"] = ordered
        return type.__new__(mcs, classname, bases, class_dict)


class SequentialTaskSet(TaskSet, metaclass=SequentialTaskSetMeta):
    """A TaskSet that runs its tasks in declaration order, over and over (weights repeat a task)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._task_cycle = cycle(self.tasks)

    def get_next_task(self):
        if not self.tasks:
            raise LocustError(
                "No tasks defined. Use the @task decorator or set the 'tasks' attribute of the SequentialTaskSet"
            )
        return next(self._task_cycle)
