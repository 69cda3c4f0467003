"""One locustfile for every way a run ends (tests/security/test_run_end.py): RUN_END_MODE picks how.

- plain: requests until -t, a signal or the master ends the run.
- quit: a task calls self.environment.runner.quit() after about 1 s.
- sys_exit: a task calls sys.exit(RUN_END_CODE) after about 1 s.
- swallow: after its first request a task spins and swallows every KeyboardInterrupt (the watchdog's case).
"""

import os
import sys
import time

from locust import HttpUser, constant, task

MODE = os.environ.get("RUN_END_MODE", "plain")
CODE = int(os.environ.get("RUN_END_CODE", "5"))
START = time.time()


class Ending(HttpUser):
    wait_time = constant(0.05)

    @task
    def work(self):
        self.client.get("/hello")
        late = time.time() - START > 1.0
        if MODE == "quit" and late:
            self.environment.runner.quit()
        elif MODE == "sys_exit" and late:
            sys.exit(CODE)
        elif MODE == "swallow":
            while True:
                try:
                    for _ in range(10**6):
                        pass
                except BaseException:  # noqa: S110 (the point: the interrupt is swallowed)
                    pass
