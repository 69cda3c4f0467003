"""filter_tasks_by_tags (reference §3.7)."""

# ruff: noqa: RUF012
# (class-level ``tasks`` lists, exactly as locustfiles write them)

import logging

import pytest

from locust import MarkovTaskSet, TaskSet, User, tag, task, transition
from locust.user.task import filter_tasks_by_tags


def names(tasks):
    return [t.__name__ for t in tasks]


def build():
    class Nested(TaskSet):
        @tag("n")
        @task
        def n1(self):
            pass

        @task
        def n2(self):
            pass

    @tag("ts")
    class Tagged(TaskSet):
        @task
        def x1(self):
            pass

        @tag("y")
        @task(2)
        def x2(self):
            pass

    class Mk(MarkovTaskSet):
        @transition("b")
        def a(self):
            pass

        @transition("a")
        def b(self):
            pass

    class U(User):
        @tag("a")
        @task(3)
        def ta(self):
            pass

        @tag("a", "b")
        @task
        def tab(self):
            pass

        @task(2)
        def plain(self):
            pass

        tasks = {Nested: 2, Tagged: 1, Mk: 1}

    return U, Nested, Tagged


@pytest.mark.parametrize(
    "tags, exclude, user_tasks, nested_tasks, tagged_tasks",
    [
        (
            None,
            None,
            [
                "Nested",
                "Nested",
                "Tagged",
                "Mk",
                "ta",
                "ta",
                "ta",
                "tab",
                "plain",
                "plain",
            ],
            ["n1", "n2"],
            ["x1", "x2", "x2"],
        ),
        ({"a"}, None, ["Mk", "ta", "ta", "ta", "tab"], [], []),
        (
            None,
            {"a"},
            ["Nested", "Nested", "Tagged", "Mk", "plain", "plain"],
            ["n1", "n2"],
            ["x1", "x2", "x2"],
        ),
        ({"n"}, None, ["Nested", "Nested", "Mk"], ["n1"], []),
        ({"ts"}, {"y"}, ["Tagged", "Mk"], [], ["x1"]),
        ({"a"}, {"b"}, ["Mk", "ta", "ta", "ta"], [], []),
        ({"nope"}, None, ["Mk"], [], []),
    ],
)
def test_filtering(tags, exclude, user_tasks, nested_tasks, tagged_tasks):
    U, Nested, Tagged = build()
    original = U.tasks
    filter_tasks_by_tags(U, tags, exclude)
    assert names(U.tasks) == user_tasks
    assert names(Nested.tasks) == nested_tasks
    assert names(Tagged.tasks) == tagged_tasks
    assert U.tasks is not original  # the class attribute is replaced


def test_checked_cache_is_shared_and_keyed_per_task():
    U, _, _ = build()
    checked = {}
    filter_tasks_by_tags(U, {"a"}, None, checked)
    # ta, tab, plain, Nested, n1, n2, Tagged, x1, x2, Mk: one decision each despite weights
    assert len(checked) == 10
    assert sorted(checked.values()) == [False] * 7 + [True] * 3


def test_cached_decision_reused_for_shared_task():
    shared_calls = []

    class Counting:
        """A task-like object that counts how often its tag set is inspected."""

        __name__ = "counting"

        @property
        def locust_tag_set(self):
            shared_calls.append(1)
            return {"t"}

        def __call__(self, user):
            pass

    shared = Counting()

    class A(User):
        tasks = [shared, shared, shared]

    filter_tasks_by_tags(A, {"t"}, None)
    assert A.tasks == [shared] * 3
    assert len(shared_calls) == 1


def test_warning_when_nothing_left(caplog):
    U, _, _ = build()
    with caplog.at_level(logging.WARNING):
        filter_tasks_by_tags(U, {"a"}, None)
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "Nested had no tasks left after filtering, instantiating it will fail!"
        in messages
    )
    assert (
        "Tagged had no tasks left after filtering, instantiating it will fail!"
        in messages
    )
    assert not any(m.startswith(("U ", "Mk ")) for m in messages)

    class Lonely(User):
        @tag("zzz")
        @task
        def only(self):
            pass

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        filter_tasks_by_tags(Lonely, {"other"}, None)
    assert Lonely.tasks == []
    assert [r.getMessage() for r in caplog.records] == [
        "Lonely had no tasks left after filtering, instantiating it will fail!"
    ]


def test_tagged_task_inside_untagged_nested_taskset_is_selected():
    class Inner(TaskSet):
        @tag("deep")
        @task
        def deep(self):
            pass

        @task
        def other(self):
            pass

    class Mid(TaskSet):
        tasks = [Inner]

    class U(User):
        tasks = [Mid]

        @task
        def top(self):
            pass

    filter_tasks_by_tags(U, {"deep"}, None)
    assert names(U.tasks) == ["Mid"]
    assert names(Mid.tasks) == ["Inner"]
    assert names(Inner.tasks) == ["deep"]
