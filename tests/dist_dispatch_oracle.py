"""Oracle for src/distributed/dispatch.rs: random dispatch scenarios run under real Locust 2.47's UsersDispatcher.

Usage: python dist_dispatch_oracle.py --count N --seed S

Prints one JSON object per line, one per scenario:
  {"classes": [[name, weight, fixed_count], ...], "workers": [id, ...], "ops": [op, ...]}
with the ops in the order they were applied:
  ["dispatch", target, spawn_rate, [class names] or null]
  ["add", worker_id]
  ["remove", worker_id]
  ["next", step or null, slept, dispatch_in_progress]
A step is [[worker_id, [[class, users], ...]], ...] in Locust's order; null means the dispatch ended. `slept` is
what Locust slept during that call (the iteration wait of an earlier step). The clock Locust reads while
dispatching is frozen, so each sleep is the nominal wait. Nothing here depends on wall-clock time.
"""

import argparse
import json
import random
import sys
import types

import locust.dispatch as dispatch_module
from locust.dispatch import UsersDispatcher

SLEPT = []
dispatch_module.time = types.SimpleNamespace(perf_counter=lambda: 0.0)
dispatch_module.gevent = types.SimpleNamespace(sleep=SLEPT.append)

CLASS_NAMES = ["A", "B", "C", "D", "Ea", "a", "Zed", "User2", "User10"]
HOSTS = ["h1", "h2", "hostB", "x-1", "nohost"]
RATES = [0.3, 0.5, 1, 1.5, 2, 2.5, 3, 3.7, 5, 7, 10, 100, 1000]


class Node:
    """Stands in for locust.runners.WorkerNode: the dispatcher only reads `id` (and writes its host index)."""

    def __init__(self, node_id):
        self.id = node_id


def worker_id(rng):
    host = rng.choice(HOSTS)
    if host == "nohost":
        return f"{rng.getrandbits(16):04x}"  # no "_": the whole id is the host
    return f"{host}_{rng.getrandbits(32):08x}"


def user_class(rng, name):
    if rng.random() < 0.3:
        weight = round(rng.uniform(0.1, 4.0), 2)
    else:
        weight = rng.choice([0, 1, 1, 1, 2, 3, 5])
    fixed = rng.randint(1, 5) if rng.random() < 0.3 else 0
    return type(name, (), {"weight": weight, "fixed_count": fixed})


def step_json(step):
    return [[w, [[c, n] for c, n in counts.items()]] for w, counts in step.items()]


def scenario(rng):
    classes = [user_class(rng, n) for n in rng.sample(CLASS_NAMES, rng.randint(1, 4))]
    by_name = {c.__name__: c for c in classes}
    workers = [worker_id(rng) for _ in range(rng.randint(1, 5))]
    nodes = [Node(w) for w in workers]
    known = list(workers)
    d = UsersDispatcher(worker_nodes=nodes, user_classes=classes)
    ops = []

    def change_workers(p_add, p_remove):
        if rng.random() < p_add:
            # Sometimes an id the master already knows (a duplicate client_ready makes a new node of that id).
            wid = rng.choice(known) if known and rng.random() < 0.1 else worker_id(rng)
            d.add_worker(Node(wid))
            known.append(wid)
            ops.append(["add", wid])
        if rng.random() < p_remove:
            current = [n.id for n in d._worker_nodes]
            if rng.random() < 0.05:
                wid = worker_id(rng)  # unknown to the dispatcher
            elif len(current) > 1 or (current and rng.random() < 0.15):
                wid = rng.choice(current)
            else:
                return
            d.remove_worker(Node(wid))
            ops.append(["remove", wid])

    for _ in range(rng.randint(1, 5)):
        change_workers(0.15, 0.1)
        target = rng.randint(0, 40)
        rate = rng.choice(RATES)
        restrict = None
        if rng.random() < 0.2:
            restrict = rng.sample(list(by_name), rng.randint(0, len(by_name)))
        d.new_dispatch(
            target_user_count=target,
            spawn_rate=rate,
            user_classes=None if restrict is None else [by_name[n] for n in restrict],
        )
        ops.append(["dispatch", target, rate, restrict])
        for _ in range(150):
            change_workers(0.07, 0.05)
            SLEPT.clear()
            try:
                step = step_json(next(d))
            except StopIteration:
                step = None
            ops.append(["next", step, sum(SLEPT), d.dispatch_in_progress])
            if step is None or rng.random() < 0.04:
                break
    return {
        "classes": [[c.__name__, c.weight, c.fixed_count] for c in classes],
        "workers": workers,
        "ops": ops,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for i in range(args.count):
        rng = random.Random(args.seed * 1_000_003 + i)
        sys.stdout.write(json.dumps(scenario(rng)) + "\n")


if __name__ == "__main__":
    main()
