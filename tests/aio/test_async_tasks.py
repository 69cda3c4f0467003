"""`async def` tasks and asyncio libraries inside ordinary Users (issue 41), run by rlocust against real servers on
127.0.0.1: the rows, counts and stop behaviour a locustfile's author would expect. Loopback only; every run is
bounded by -t and by its timeout."""

from __future__ import annotations

import csv
import re
import threading
import time

import pytest
import requests
from conftest import EXAMPLES, LOCUSTFILES, count, free_port, rows, run, site_env, stop_seconds, ws_stats
from support.bounded import run as run_bounded


def failures(table: dict) -> int:
    return int(table["Aggregated"]["Failure Count"])


def test_async_login_and_a_gathered_page_give_the_rows_of_their_calls(rlocust, target_url, tmp_path):
    r = run(rlocust, EXAMPLES / "gather_page.py", target_url, tmp_path, "--stop-timeout", "3", users=5, seconds=4)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert count(t, "/login") == 5  # one async on_start per user
    assert count(t, "/") > 0
    # every page awaited its ten assets (a graceful stop lets the last pages finish)
    assert count(t, "/items/[id]") == 10 * count(t, "/")
    assert count(t, "/me") > 0 and count(t, "/hello") > 0  # the session cookie of the async login; the sync task
    assert failures(t) == 0, r.stderr[-3000:]


def test_a_gather_of_ten_calls_puts_ten_in_flight(rlocust, target_url, tmp_path):
    port = free_port()
    peak = []

    def scrape():
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not peak:
            time.sleep(1)
            try:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except requests.RequestException:
                continue
            m = re.search(r"^rlocust_requests_in_flight_peak (\S+)$", text, re.M)
            if m and float(m.group(1)) > 0:
                peak.append(float(m.group(1)))

    scraper = threading.Thread(target=scrape)
    scraper.start()
    r = run(rlocust, LOCUSTFILES / "in_flight.py", target_url, tmp_path, "--metrics-port", str(port), users=1,
            seconds=3)
    scraper.join()
    assert r.code == 0, r.stderr[-3000:]
    assert peak == [10.0]
    # ten 400 ms calls at once: about seven bursts in 3 s (one after another it would be under one)
    assert count(rows(tmp_path), "slow") >= 40


def test_mixed_sync_and_async_tasksets_with_tags_interrupt_and_timeouts(rlocust, target_url, tmp_path):
    r = run(rlocust, EXAMPLES / "mixed_tasksets.py", target_url, tmp_path, "--stop-timeout", "3", users=4, seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert count(t, "browse") > 0
    assert count(t, "slow (abandoned)") == 0  # cancelled by asyncio.timeout: abandoned, as a killed user's call
    # the SequentialTaskSet ran its steps in order, sync and async alike, and left with interrupt() (a stop may
    # come between two steps of a user: at most one sequence per user is cut short)
    cart, add, price = count(t, "cart"), count(t, "add"), count(t, "pay: price")
    assert cart >= add >= price >= cart - 4 > 0, (cart, add, price)
    assert count(t, "pay: token") == price  # the TaskGroup's two calls, always together
    assert failures(t) == 0, r.stderr[-3000:]

    tagged = tmp_path / "tagged"
    tagged.mkdir()
    r = run(rlocust, EXAMPLES / "mixed_tasksets.py", target_url, tagged, "--exclude-tags", "browse", users=2,
            seconds=2)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tagged)
    assert count(t, "browse") == 0 and count(t, "cart") > 0


def test_a_websockets_conversation_inside_a_user(rlocust, ws_url, tmp_path):
    r = run(rlocust, EXAMPLES / "websocket_chat.py", ws_url, tmp_path, users=20, seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    # 20 users, one exchange each per 0.5 s, for 3 s
    assert count(t, "hello") >= 80
    assert failures(t) == 0, r.stderr[-3000:]
    # every user's connection was closed by its async on_stop (the server counts them; this asks it on a 21st)
    opened, closed = ws_stats(ws_url)
    assert opened - 1 == closed == 20


def test_async_openai_streams_inside_a_user(rlocust, target_url, tmp_path):
    r = run(rlocust, EXAMPLES / "openai_async.py", target_url, tmp_path, users=4, seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    row = t["chat (AsyncOpenAI)"]
    assert int(row["Request Count"]) >= 8 and failures(t) == 0, r.stderr[-3000:]
    assert float(row["Average Content Size"]) == 16  # the tokens it read (max_tokens=16)
    with open(tmp_path / "r_metrics.csv", newline="") as f:
        metric = {(m["Metric"], m["Name"]): m for m in csv.DictReader(f)}[("python_ttft", "chat (AsyncOpenAI)")]
    assert float(metric["50%"]) >= 50  # the target's first token comes 50 ms after the request


def test_a_streamed_body_read_with_async_for_is_timed_at_the_wire(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "streams.py", target_url, tmp_path, users=3, seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    assert failures(rows(tmp_path)) == 0, r.stderr[-3000:]
    with open(tmp_path / "r_metrics.csv", newline="") as f:
        metrics = {(m["Metric"], m["Name"]): m for m in csv.DictReader(f)}
    assert 60 <= float(metrics[("ttft", "chat")]["50%"]) < 80
    assert 9 <= float(metrics[("itl", "chat")]["50%"]) < 15


def test_a_thousand_awaiting_users_are_cancelled_and_stopped_within_a_second(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "awaiting_users.py", target_url, tmp_path, users=1000, seconds=4, timeout=90)
    assert r.code == 0, r.stderr[-3000:]
    assert "COUNTS 1000 1000 1000" in r.stdout, r.stdout[-2000:]
    assert stop_seconds(r.stderr) <= 1.0, r.stderr[-2000:]


def test_exceptions_interrupt_and_stop_user_in_coroutines(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "lifecycle.py", target_url, tmp_path, users=6, seconds=3)
    assert r.code == 1, r.stderr[-3000:]  # the ValueErrors fail the run, as a sync task's do
    with open(tmp_path / "r_exceptions.csv", newline="") as f:
        exceptions = list(csv.DictReader(f))
    boom = [e for e in exceptions if "boom from a coroutine" in e["Message"]]
    assert boom and int(boom[0]["Count"]) > 1
    assert "in explode" in boom[0]["Traceback"] and "lifecycle.py" in boom[0]["Traceback"]
    taskset_stops, user_stops, stop_user_raised = map(int, re.search(r"SEEN (\d+) (\d+) (\d+)", r.stdout).groups())
    t = rows(tmp_path)
    assert taskset_stops >= count(t, "inner") - 4 > 0  # every interrupt() ran the TaskSet's async on_stop
    assert user_stops == stop_user_raised == count(t, "quitter") == 2  # StopUser ended each Quitter, on_stop ran


def test_a_coroutine_that_never_awaits_is_interrupted_like_a_busy_sync_task(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "never_awaits.py", target_url, tmp_path, users=2, seconds=1, timeout=40)
    sync_dir = tmp_path / "sync"
    sync_dir.mkdir()
    s = run_bounded([rlocust, "-f", LOCUSTFILES / "never_awaits.py", "--headless", "-u", 2, "-r", 2, "-t", "1s"],
                    sync_dir, timeout=40, env=site_env({"SYNC": "1"}))
    assert "interrupting it with KeyboardInterrupt" in r.stderr and "interrupting it with KeyboardInterrupt" in s.stderr
    assert r.code == s.code
    # ended by the interrupt, not abandoned after it
    assert "still does not respond" not in r.stderr, r.stderr[-3000:]
    assert r.seconds < s.seconds + 2


def test_mistakes_in_coroutines_say_what_to_write(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "misuse.py", target_url, tmp_path, users=2, seconds=2)
    assert "write `await self.client...`" in r.stderr, r.stderr[-3000:]
    assert "write `async with`, not `with`" in r.stderr
    t = rows(tmp_path)
    assert count(t, "never sent") == 0 and count(t, "never sent either") == 0


def test_the_current_task_of_a_users_coroutines_works_with_asyncio_timeouts_groups_and_cancels(rlocust, target_url,
                                                                                           tmp_path):
    # (one task per user for its life, stepped by the user's greenlet: docs/async.md)
    r = run(rlocust, LOCUSTFILES / "current_task.py", target_url, tmp_path, users=3, seconds=4)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert not [name for name in t if name.startswith("bad: ")], r.stderr[-3000:]
    checks = ("same task for the user's life", "a task per user", "cancel count starts at 0", "not in all_tasks",
              "timeout around a call", "timeout around a sleep", "task group", "wait_for", "self-cancel",
              "a call with a cancel pending", "a dropped cancel", "gather", "a call awaited twice",
              "a raising call awaited twice")
    for check in checks:
        assert count(t, "ok: " + check) >= 6, (check, r.stderr[-3000:])  # 3 users, at least twice each
    assert count(t, "abandoned") == 0  # the calls ended by a timeout or a cancel were abandoned: no row
    assert count(t, "once") == count(t, "ok: a call awaited twice")  # (sent once each)


def test_a_verbs_call_in_coroutine_code_is_a_coroutine_to_asyncio(rlocust, target_url, tmp_path):
    # (a verb's call is _rlocust.AwaitedCall, src/py/awaited.rs; any use but its user's own await is the shim's Call)
    r = run(rlocust, LOCUSTFILES / "call_protocol.py", target_url, tmp_path, users=2, seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert not [name for name in t if name.startswith("bad: ")], r.stderr[-3000:]
    for check in ("a coroutine", "awaited", "closed", "as a task", "gathered", "send by hand",
                  "a call in a cycle is collected", "thrown before its await"):
        assert count(t, "ok: " + check) >= 4, (check, r.stderr[-3000:])  # both clients, at least twice each
    assert count(t, "closed: never sent") == 0 and count(t, "thrown: never sent") == 0
    assert count(t, "gathered") == 3 * count(t, "ok: gathered")


def test_constant_pacing_applies_between_async_tasks(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "pacing.py", target_url, tmp_path, "--stop-timeout", "1", users=2, seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    n = count(rows(tmp_path), "paced")
    assert 10 <= n <= 14, n  # 2 users × one start per 0.5 s over 3 s


def test_asyncio_libraries_and_both_clients_side_by_side(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "libraries.py", target_url, tmp_path, users=4, seconds=3)
    assert r.code == 1, r.stderr[-3000:]  # (the failed "caught" calls)
    t = rows(tmp_path)
    for name in ("httpx", "aiohttp", "client", "caught", "fast get", "fast rest", "fast lines"):
        assert count(t, name) > 5, (name, r.stderr[-3000:])
    # the catch_response block's verdict is the row's: every "caught" call failed, nothing else did
    assert int(t["caught"]["Failure Count"]) == count(t, "caught") == failures(t), r.stderr[-3000:]


def test_async_users_run_in_worker_processes(rlocust, target_url, tmp_path):
    r = run(rlocust, EXAMPLES / "gather_page.py", target_url, tmp_path, "--processes", "2", "--stop-timeout", "3",
            users=4, seconds=4, timeout=90)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert count(t, "/login") == 4 and count(t, "/items/[id]") == 10 * count(t, "/") > 0


def test_markov_transitions_and_iterations_with_async_tasks(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "markov_and_iterations.py", target_url, tmp_path, users=2, seconds=2)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    a, b = count(t, "markov a"), count(t, "markov b")
    assert a > 10 and abs(a - b) <= 2, (a, b)  # each user alternates a, b, a, ...

    counted = tmp_path / "iterations"
    counted.mkdir()
    r = run_bounded([rlocust, "-f", LOCUSTFILES / "markov_and_iterations.py", "--headless", "-u", 2, "-r", 2, "-i", 7,
                     "-H", target_url, "--csv", counted / "r"], counted, timeout=60, env=site_env({"MODE": "iterations"}))
    assert r.code == 0, r.stderr[-3000:]
    assert count(rows(counted), "iteration") == 7


def test_sys_exit_in_a_task_a_coroutine_started_ends_the_run_with_its_code(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "child_exit.py", target_url, tmp_path, users=2, seconds=5)
    assert r.code == 3, r.stderr[-3000:]
    assert r.seconds < 5  # at once, not at the run-time limit



def test_every_verb_awaited_on_both_clients_and_an_override_runs_once(rlocust, target_url, tmp_path):
    r = run(rlocust, LOCUSTFILES / "awaited_verbs.py", target_url, tmp_path, "--stop-timeout", "2", users=2,
            seconds=3)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert failures(t) == 0, r.stderr[-3000:]
    for client in ("http", "fast"):
        for verb in ("get", "post", "put", "patch", "delete", "head", "options"):
            assert count(t, f"{client} {verb}") > 3, (client, verb, r.stderr[-3000:])
    assert count(t, "gathered") == 3 * count(t, "/hello") > 0
    assert count(t, "caught") > 0
    m = re.search(r"^COUNTS (\d+) (\d+)$", r.stdout, re.M)
    assert m and int(m.group(1)) == int(m.group(2)) == count(t, "override") > 0, r.stdout[-2000:]


@pytest.mark.parametrize("processes", [None, 2])
def test_coroutines_see_the_running_loop_and_sync_code_none_between_them(rlocust, target_url, tmp_path, processes):
    # (the running loop is set in place of asyncio's own setter, which makes a holder and calls getpid each time;
    # a sync task's asyncio.run replaces the thread's holder, and a fork leaves the parent's)
    extra = ("--processes", str(processes)) if processes else ()
    r = run(rlocust, LOCUSTFILES / "running_loop.py", target_url, tmp_path, *extra, users=6, seconds=3, timeout=90)
    assert r.code == 0, r.stderr[-3000:]
    t = rows(tmp_path)
    assert not [name for name in t if name.startswith("bad: ")], (list(t), r.stderr[-3000:])
    for check in ("a coroutine's loop across its calls", "one loop for every user", "no running loop in sync code",
                  "asyncio.run has its own loop", "no running loop after asyncio.run",
                  "a coroutine's loop and task across a wait inside its step"):
        assert count(t, "ok: " + check) >= 20, (check, r.stderr[-3000:])
