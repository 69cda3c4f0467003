"""Task ratios of User classes: what ``--show-task-ratio`` and ``--show-task-ratio-json`` print (reference §3.1).

The user mix comes from the class weights and ``fixed_count`` for ``-u`` users (or the total weight when
``-u`` is not given). A task's ratio is its share of the expanded ``tasks`` list of its holder; per class,
each level is relative to its parent only, while the totals multiply down the chain from the class share.
"""

from __future__ import annotations

import inspect
import json

from .task import TaskSet


def _users_per_class(user_classes, num_users) -> dict[str, int]:
    """How many users of each class a run with ``num_users`` users starts (rounded like Locust's estimate)."""
    fixed = sum(c.fixed_count for c in user_classes if c.fixed_count)
    weights = sum(c.weight for c in user_classes if not c.fixed_count)
    if not num_users:
        num_users = 1 if fixed else weights
    weighted = max(0, num_users - fixed)
    counts = {}
    for c in user_classes:
        share = c.fixed_count or (c.weight / weights) * weighted
        counts[c.__name__] = round(share)
    return counts


def _tasks_ratio(tasks, total: bool, parent: float) -> dict:
    scale = parent if total else 1.0
    occurrences: dict = {}
    for t in tasks:
        occurrences[t] = occurrences.get(t, 0) + 1
    out: dict = {}
    for t, n in occurrences.items():
        ratio = n * scale / len(tasks)
        node = {"ratio": ratio}
        if inspect.isclass(t) and issubclass(t, TaskSet):
            node["tasks"] = _tasks_ratio(t.tasks, total, ratio)
        # keyed by name: two tasks with one name share an entry (the later one's numbers, the first one's place)
        out[t.__name__] = node
    return out


# Locust's name for the same computation (its tests call it directly)
_get_task_ratio = _tasks_ratio


def get_ratio(user_classes, user_spawned: dict[str, int], total: bool) -> dict[str, dict]:
    """``{class name: {"ratio": share of users, "tasks": {task name: {"ratio": ..., "tasks"?: ...}}}}``."""
    users = sum(user_spawned.values()) or 1
    result = {}
    for cls in user_classes:
        share = user_spawned.get(cls.__name__, 0) / users
        result[cls.__name__] = {"ratio": share, "tasks": _tasks_ratio(cls.tasks, total, share)}
    return result


def _ratio_lines(tree: dict, level: int = 0) -> list[str]:
    indent = "  " * level
    lines = []
    for name, node in tree.items():
        percent = "%-6.1f" % (node.get("ratio", 1) * 100)
        lines.append(" %-10s %-50s" % (indent + percent, indent + name))
        if "tasks" in node:
            lines.extend(_ratio_lines(node["tasks"], level + 1))
    return lines


def task_ratio_lines(user_classes, num_users):
    """The lines of the ``--show-task-ratio`` output (the per-class table, then the total one), each table
    computed just before its lines are produced (a failure leaves the lines produced so far, as in Locust)."""
    counts = _users_per_class(user_classes, num_users)
    yield from ("", " Task ratio per User class", "-" * 80)
    yield from _ratio_lines(get_ratio(user_classes, counts, False))
    yield from ("", " Total task ratio", "-" * 80)
    yield from _ratio_lines(get_ratio(user_classes, counts, True))


def task_ratio_text(user_classes, num_users) -> str:
    return "".join(line + "\n" for line in task_ratio_lines(user_classes, num_users))


def task_ratio_json_text(user_classes, num_users) -> str:
    counts = _users_per_class(user_classes, num_users)
    data = {"per_class": get_ratio(user_classes, counts, False), "total": get_ratio(user_classes, counts, True)}
    return json.dumps(data, indent=4) + "\n"


def print_task_ratio(user_classes, num_users, total):
    """Print one table of task ratios (per class when ``total`` is false, else of all tasks)."""
    counts = _users_per_class(user_classes, num_users)
    for line in _ratio_lines(get_ratio(user_classes, counts, total)):
        print(line)


def print_task_ratio_json(user_classes, num_users):
    print(task_ratio_json_text(user_classes, num_users), end="")
