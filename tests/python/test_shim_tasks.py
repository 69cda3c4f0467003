"""Task collection, @task, @tag, SequentialTaskSet and MarkovTaskSet definitions (§1.8-§1.10, §3.1)."""

# ruff: noqa: RUF012
# (class-level ``tasks`` lists, exactly as locustfiles write them)

import itertools
import logging
import random
import warnings

import pytest

from locust import (
    HttpUser,
    MarkovTaskSet,
    SequentialTaskSet,
    TaskSet,
    User,
    tag,
    task,
    transition,
    transitions,
)
from locust.exception import LocustError
from locust.user.markov_taskset import (
    InvalidTransitionError,
    MarkovTaskTagError,
    NoMarkovTasksError,
    NonMarkovTaskTransitionError,
)
from locust.user.task import get_tasks_from_base_classes
from locust.user.users import UserMeta


def names(tasks):
    return [t.__name__ for t in tasks]


def f1(user):
    pass


def f2(user):
    pass


def test_task_decorator_forms():
    def a(self):
        pass

    def b(self):
        pass

    assert task(a) is a and a.locust_task_weight == 1
    assert task(5)(b) is b and b.locust_task_weight == 5
    assert task()(a).locust_task_weight == 1


def test_task_decorator_refuses_run_and_warns_on_hooks(caplog):
    def run(self):
        pass

    with pytest.raises(Exception) as info:
        task(run)
    assert str(info.value) == (
        "User.run() is a method used internally by Locust, and you must not override it or register it as a task"
    )

    def on_start(self):
        pass

    with caplog.at_level(logging.WARNING):
        task(on_start)
    assert on_start.locust_task_weight == 1
    assert any(
        "You have tagged your on_stop/start function with @task" in r.getMessage()
        for r in caplog.records
    )


def test_collection_order_and_expansion():
    class U(User):
        tasks = [f1, (f2, 2)]

        @task(3)
        def a(self):
            pass

        @task
        class Sub(TaskSet):
            @task
            def s(self):
                pass

    assert names(U.tasks) == ["f1", "f2", "f2", "a", "a", "a", "Sub"]

    class V(U):
        tasks = {f1: 2}

        @task(0)
        def never(self):
            pass

    # inherited tasks first, then this body's tasks; weight 0 adds nothing
    assert names(V.tasks) == ["f1", "f2", "f2", "a", "a", "a", "Sub", "f1", "f1"]
    assert names(U.tasks) == ["f1", "f2", "f2", "a", "a", "a", "Sub"]


def test_dict_with_taskset_and_task_method_verified_example():
    class Sub(TaskSet):
        @task
        def s(self):
            pass

    class U(User):
        tasks = {Sub: 1}

        @task(2)
        def a1(self):
            pass

    assert names(U.tasks) == ["Sub", "a1", "a1"]


def test_wrong_tasks_types():
    with pytest.raises(TypeError, match="'function' object is not iterable"):

        class A(User):
            tasks = f1

    with pytest.raises(TypeError, match="'int' object is not iterable"):

        class B(User):
            tasks = 5

    with pytest.raises(TypeError):

        class C(User):
            tasks = [(f1, 1.5)]

    class D(User):
        tasks = None

    assert D.tasks == []


def test_get_tasks_from_base_classes_directly():
    class Base:
        tasks = [f1]

    def decorated(self):
        pass

    decorated.locust_task_weight = 2
    result = get_tasks_from_base_classes(
        (Base,), {"tasks": [(f2, 1)], "x": decorated, "y": 3}
    )
    assert result == [f1, f2, decorated, decorated]


def test_abstract_defaulting():
    assert User.abstract is True and HttpUser.abstract is True

    class A(User):
        pass

    class B(User):
        abstract = True

    class C(B):
        pass

    class D(User):
        abstract = 0

    assert (A.abstract, B.abstract, C.abstract, D.abstract) == (
        False,
        True,
        False,
        False,
    )
    assert isinstance(User, UserMeta)


def test_legacy_task_set_attribute_warns():
    class TS(TaskSet):
        @task
        def t(self):
            pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class L(User):
            task_set = TS

    msgs = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert msgs == [
        "Usage of User.task_set is deprecated since version 1.0. Set the tasks attribute instead (tasks = [TS])"
    ]


def test_tag_validation():
    with pytest.raises(ValueError, match="No tag name was supplied"):
        tag()
    with pytest.raises(ValueError, match="No tag name was supplied"):

        @tag
        def x(self):
            pass


def test_tag_on_functions_accumulates_on_the_function():
    @tag("a")
    @tag("b", "c")
    @task
    def t(self):
        pass

    assert t.locust_tag_set == {"a", "b", "c"}
    assert t.locust_task_weight == 1


def test_tag_on_taskset_class_tags_each_task():
    @tag("outer")
    class TS(TaskSet):
        @tag("inner")
        @task
        def one(self):
            pass

        @task(2)
        def two(self):
            pass

    assert [sorted(t.locust_tag_set) for t in TS.tasks] == [
        ["inner", "outer"],
        ["outer"],
        ["outer"],
    ]
    assert "locust_tag_set" not in TS.__dict__
    assert not hasattr(TS, "locust_tag_set")


def test_sequential_declaration_order():
    class S(SequentialTaskSet):
        @task(2)
        def one(self):
            pass

        tasks = [f1, f2]

        @task
        def two(self):
            pass

    assert names(S.tasks) == ["one", "one", "f1", "f2", "two"]

    class S2(S):
        tasks = {f2: 2}

    assert names(S2.tasks) == ["one", "one", "f1", "f2", "two", "f2", "f2"]

    with pytest.raises(
        ValueError, match="The 'tasks' attribute can only be set to list or dict"
    ):

        class Bad(SequentialTaskSet):
            tasks = (f1,)


def test_markov_definition_and_weights():
    class M(MarkovTaskSet):
        @transition("b", weight=2)
        @transition("a")
        def a(self):
            pass

        @transitions({"a": 1, "c": 3})
        def b(self):
            pass

        @transitions(["a", ("b", 2)])
        def c(self):
            pass

    assert M.abstract is False and MarkovTaskSet.abstract is True
    assert M.current is M.__dict__["a"]
    assert M.a.transitions == ["a", "b", "b"]
    assert M.b.transitions == ["a", "c", "c", "c"]
    assert M.c.transitions == ["a", "b", "b"]
    assert M.tasks == []  # Markov tasks are not collected into `tasks`


def test_markov_validation_errors(caplog):
    for err in (
        NoMarkovTasksError,
        InvalidTransitionError,
        NonMarkovTaskTransitionError,
        MarkovTaskTagError,
    ):
        assert err.__bases__ == (LocustError,)

    with pytest.raises(NoMarkovTasksError) as info:

        class M1(MarkovTaskSet):
            def a(self):
                pass

    assert (
        str(info.value)
        == "No Markov tasks defined in class M1. Use the @transition(s) decorators to define some."
    )

    with pytest.raises(InvalidTransitionError) as info:

        class M2(MarkovTaskSet):
            @transition("zz")
            def a(self):
                pass

    assert (
        str(info.value)
        == "Transition to zz from a is invalid since no such element exists on class M2"
    )

    with pytest.raises(NonMarkovTaskTransitionError) as info:

        class M3(MarkovTaskSet):
            @transition("b")
            def a(self):
                pass

            def b(self):
                pass

    assert str(info.value) == (
        "M3.b cannot be used as a target for a transition since it does not define any transitions "
        "of its own.Used as a transition from a."
    )

    with pytest.raises(MarkovTaskTagError) as info:

        class M4(MarkovTaskSet):
            @tag("t")
            @transition("a")
            def a(self):
                pass

    assert str(info.value) == (
        "Tags are unsupported for MarkovTaskSet since they can make the markov chain invalid. "
        "Tags detected on M4.a: {'t'}"
    )

    with pytest.raises(Exception) as info:

        class M5(MarkovTaskSet):
            @transition("run")
            def a(self):
                pass

            @transition("a")
            def run(self):
                pass

    assert "TaskSet.run() is a method used internally by Locust" in str(info.value)

    caplog.clear()
    with caplog.at_level(logging.WARNING):

        class M6(MarkovTaskSet):
            @transition("a")
            def a(self):
                pass

            @transition("a")
            def b(self):
                pass

            @transition("on_start")
            def c(self):
                pass

            @transition("c")
            def on_start(self):
                pass

    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("The following markov tasks are unreachable in class M6: ")
        for m in messages
    )
    unreachable = next(m for m in messages if "unreachable" in m)
    assert "'b'" in unreachable and "'c'" in unreachable and "'on_start'" in unreachable
    assert any(
        "You have tagged your on_stop/start function with @transition" in m
        for m in messages
    )


def test_markov_abstract_subclass_not_validated():
    class Base(MarkovTaskSet):
        abstract = True

    class Concrete(Base):
        @transition("a")
        def a(self):
            pass

    assert Base.abstract is True and Concrete.abstract is False


def test_markov_get_next_task_walks_the_chain(env):
    class M(MarkovTaskSet):
        @transition("b")
        def a(self):
            pass

        @transitions({"a": 1, "c": 1})
        def b(self):
            pass

        @transition("a")
        def c(self):
            pass

    class U(User):
        tasks = [M]

    ts = M(U(env))
    random.seed(3)
    walk = [ts.get_next_task().__name__ for _ in range(30)]
    assert walk[0] == "a"
    allowed = {"a": {"b"}, "b": {"a", "c"}, "c": {"a"}}
    for here, there in itertools.pairwise(walk):
        assert there in allowed[here], (here, there)
    assert "c" in walk
