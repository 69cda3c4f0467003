# diff[keys]: -u 2 -r 100 -t 5s
# diff-at[keys]: after=All\susers\sspawned 0.5 keys=W
# diff-at[keys]: 1 keys=s
# diff-at[keys]: 1 keys=S
# diff-at[keys]: 1 keys=x
# diff[busy]: -u 4 -r 1 -t 5s
# diff-at[busy]: after=Ramping\sto 0.5 keys=w
# diff-at[busy]: 0.5 keys=S
# diff[no-tty]: -u 3 -r 2 -t 3s -L DEBUG
# diff-stdin[no-tty]: devnull
# diff-stdin: tty
# diff-check: all -shares
# diff-markers: mode=count ^MARK (on_start|on_stop)
# diff-markers: mode=seq (Ramping to \d+ users.*|All users spawned.*|Already spawning.*|Spawning users, can't.*)
# diff-markers[no-tty]: mode=seq (Terminal was not a tty.*|DEBUG/locust\.runners: (Ramping|Spawning additional|\d+ users|All users of class).*)
# diff-expect: exit=0 exceptions=0 failures=0
"""Locust's keyboard controls on a terminal (stdin a pseudo-terminal): w/W add 1/10 users, s/S remove 1/10, at
100 users/s, counted from the users running; other keys do nothing.
- keys: 2 users, then W (12), s (11), S (1), x (nothing).
- busy: while the runner is still spawning (4 users at 1/s), w and S only log Locust's warnings.
- no-tty: stdin is not a terminal: Locust's DEBUG line says keyboard input is disabled; and the runner's DEBUG
  lines of a ramp in two steps and of the stop."""
import sys

from locust import HttpUser, constant, task


def mark(text):
    print(f"MARK {text}", file=sys.stderr, flush=True)


class KeyUser(HttpUser):
    wait_time = constant(0.2)

    def on_start(self):
        mark("on_start")

    def on_stop(self):
        mark("on_stop")

    @task
    def hello(self):
        self.client.get("/hello")
