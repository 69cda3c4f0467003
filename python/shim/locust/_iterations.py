"""``-i/--iterations N``: run at most N tasks in this process, then stop (reference §3.10).

Locust itself has no such option; locust-plugins adds it, and rlocust has it built in with the same
behaviour. At ``test_start`` the runner gets a counter (``iterations_started``) and the task execution of
TaskSets is wrapped: a task that is a plain function counts as one iteration (entering a nested TaskSet
does not). Once N tasks have started, a user raises StopUser when it would start another task; the first
such user logs it, and a user that finds itself the last one running asks the runner to quit 0.1 s later.

When the locustfile imports locust_plugins, its own listener does all this and rlocust's stays out of the
way (counting twice would halve the limit).
"""

import functools
import logging
import sys
import types

import gevent

from locust import events
from locust.exception import StopUser
from locust.user.task import DefaultTaskSet, TaskSet

_root_logger = logging.getLogger()

# (runner, limit) of the current test; None when no limit applies. Set at each test_start.
_active = None
_wrapped = False


def _limited(execute_task):
    @functools.wraps(execute_task)
    def wrapper(self, task):
        active = _active
        if active is not None:
            runner, limit = active
            if runner.iterations_started >= limit:
                if not runner.iteration_target_reached:
                    runner.iteration_target_reached = True
                    _root_logger.info(
                        "Iteration limit reached (%s), stopping Users at the start of their next task run", limit
                    )
                if runner.user_count == 1:
                    _root_logger.info("Last user stopped, quitting runner")
                    # later and in its own greenlet: quitting stops this very user
                    gevent.spawn_later(0.1, runner.quit)
                raise StopUser()
            if isinstance(task, types.FunctionType):
                runner.iterations_started += 1
        execute_task(self, task)

    return wrapper


def _wrap_task_execution():
    global _wrapped
    if not _wrapped:
        _wrapped = True
        TaskSet.execute_task = _limited(TaskSet.execute_task)
        DefaultTaskSet.execute_task = _limited(DefaultTaskSet.execute_task)


@events.test_start.add_listener
def _set_up_iteration_limit(environment, **_kwargs):
    global _active
    _active = None
    options = environment.parsed_options
    limit = getattr(options, "iterations", 0) if options is not None else 0
    runner = environment.runner
    if not limit or runner is None:
        return
    plugin = sys.modules.get("locust_plugins")
    if plugin is not None and hasattr(plugin, "set_up_limits"):
        return
    runner.iterations_started = 0
    runner.iteration_target_reached = False
    _root_logger.debug("Iteration limit set to %s", limit)
    _active = (runner, limit)
    _wrap_task_execution()
