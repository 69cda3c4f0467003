"""MarkovTaskSet (rlocust shim of ``locust.user.markov_taskset``)."""

# ruff: noqa: LOG015, TRY002
# (Locust's behaviour: warnings on the root logger and a plain Exception for a task named run.)

import logging
import random
from collections.abc import Callable

from locust.exception import LocustError
from locust.user.task import TaskSetMeta
from locust.user.users import TaskSet

MarkovTaskT = Callable[..., None]


class NoMarkovTasksError(LocustError):
    """The MarkovTaskSet has no method decorated with @transition(s)."""


class InvalidTransitionError(LocustError):
    """A transition targets a name that does not exist on the class."""


class NonMarkovTaskTransitionError(LocustError):
    """A transition targets a method that has no transitions of its own."""


class MarkovTaskTagError(LocustError):
    """A Markov task carries tags (unsupported)."""


def is_markov_task(task) -> bool:
    return "transitions" in dir(task)


def transition(func_name: str, weight: int = 1) -> Callable[[MarkovTaskT], MarkovTaskT]:
    """Add one transition ``func_name`` (with ``weight``) to the decorated Markov task."""

    def decorate(func):
        if not hasattr(func, "transitions"):
            func.transitions = {}
        func.transitions[func_name] = weight
        return func

    return decorate


def transitions(
    weights: dict[str, int] | list[tuple[str, int] | str],
) -> Callable[[MarkovTaskT], MarkovTaskT]:
    """Add several transitions: ``{name: weight}`` or a list of names / ``(name, weight)`` tuples."""

    def decorate(func):
        if not hasattr(func, "transitions"):
            func.transitions = {}
        if isinstance(weights, dict):
            func.transitions.update(weights)
        else:
            pairs = {}
            for item in weights:
                name, w = item if isinstance(item, tuple) else (item, 1)
                pairs[name] = w
            func.transitions.update(pairs)
        return func

    return decorate


def get_markov_tasks(class_dict: dict) -> list:
    return [value for value in class_dict.values() if is_markov_task(value)]


def to_weighted_list(transitions: dict):
    return [name for name, count in transitions.items() for _ in range(count)]


def validate_has_markov_tasks(tasks: list, classname: str):
    if not tasks:
        raise NoMarkovTasksError(
            f"No Markov tasks defined in class {classname}. Use the @transition(s) decorators to define some."
        )


def validate_transitions(tasks: list, class_dict: dict, classname: str):
    for t in tasks:
        for dest in t.transitions:
            target = class_dict.get(dest)
            if not target:
                raise InvalidTransitionError(
                    f"Transition to {dest} from {t.__name__} is invalid since no such element exists on class {classname}"
                )
            if not is_markov_task(target):
                raise NonMarkovTaskTransitionError(
                    f"{classname}.{dest} cannot be used as a target for a transition since it does not define "
                    f"any transitions of its own.Used as a transition from {t.__name__}."
                )


def validate_no_unreachable_tasks(tasks: list, class_dict: dict, classname: str):
    """Warn about Markov tasks that cannot be reached from the first one."""
    seen = set()
    pending = [tasks[0].__name__]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        # weighted list first, so that bad weights fail the same way as at run time
        for dest in set(to_weighted_list(class_dict.get(current).transitions)):
            if dest not in seen:
                pending.append(dest)
    unreachable = {t.__name__ for t in tasks} - seen
    if unreachable:
        logging.warning(
            f"The following markov tasks are unreachable in class {classname}: {unreachable}"
        )
    return tasks


def validate_no_tags(task, classname: str):
    if "locust_tag_set" in dir(task):
        raise MarkovTaskTagError(
            "Tags are unsupported for MarkovTaskSet since they can make the markov chain invalid. "
            f"Tags detected on {classname}.{task.__name__}: {task.locust_tag_set}"
        )


def validate_task_name(decorated_func):
    if decorated_func.__name__ in ("on_stop", "on_start"):
        logging.warning(
            "You have tagged your on_stop/start function with @transition. "
            "This will make the method get called both as a step AND on stop/start."
        )
    if decorated_func.__name__ == "run":
        raise Exception(
            "TaskSet.run() is a method used internally by Locust, and you must not override it or annotate it with transitions"
        )


def validate_markov_chain(tasks: list, class_dict: dict, classname: str):
    validate_has_markov_tasks(tasks, classname)
    validate_transitions(tasks, class_dict, classname)
    validate_no_unreachable_tasks(tasks, class_dict, classname)
    for t in tasks:
        validate_task_name(t)
        validate_no_tags(t, classname)


class MarkovTaskSetMeta(TaskSetMeta):
    """Validates the chain of non-abstract MarkovTaskSets and turns transitions into weighted lists.

    Note: unlike TaskSetMeta it does not collect ``tasks``.
    """

    def __new__(mcs, classname, bases, class_dict):
        if not class_dict.get("abstract"):
            class_dict["abstract"] = False
            chain = get_markov_tasks(class_dict)
            validate_markov_chain(chain, class_dict, classname)
            class_dict["current"] = chain[0]
            for t in chain:
                t.transitions = to_weighted_list(t.transitions)
        return type.__new__(mcs, classname, bases, class_dict)


class MarkovTaskSet(TaskSet, metaclass=MarkovTaskSetMeta):
    """A TaskSet that walks a Markov chain defined with @transition / @transitions."""

    current: Callable | TaskSet
    abstract: bool = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)

    def get_next_task(self):
        """Return the current task and move ``current`` to a weighted-random successor."""
        step = self.current
        self.current = getattr(self, random.choice(step.transitions))
        return step
