"""A known difference from Locust, kept on purpose (docs/compatibility.md, "Requests made in on_stop at -t"): when
`-t` ends a run, Locust's `_stats.csv` is what its CSV writer wrote at its last one-second tick, before
`runner.quit()` stopped the users, so the requests a user's `on_stop` makes are in Locust's final console table but
not in its `_stats.csv`. rlocust writes its CSV files once more after the users have stopped: its `_stats.csv` has
them, as its final table does. Both sides are checked, so the test fails if either tool changes."""
import re
import subprocess

import diffharness as dh

USERS = 3


def _run(cmd: list[str], prefix, url: str) -> str:
    args = [*cmd, "-f", str(dh.REPO / "locustfiles" / "_on_stop_csv.py"), "--headless", "-u", str(USERS), "-r",
            str(USERS), "-t", "3s", "--only-summary", "--csv", str(prefix), "-H", url]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=prefix.parent)
    assert proc.returncode == 0, (args, proc.stderr[-2000:])
    return proc.stdout + proc.stderr


def _table_count(output: str, name: str) -> int | None:
    """The request count of `GET name` in the final request table (the first table printed with --only-summary)."""
    table = output.split("Response time percentiles", 1)[0]
    m = re.search(rf"^GET\s+{name}\s+(\d+)\s", table, re.M)
    return int(m.group(1)) if m else None


def _csv_counts(prefix) -> dict[str, int]:
    header, rows = dh.read_csv(prefix.parent / f"{prefix.name}_stats.csv")
    at = header.index("Request Count")
    return {row[1]: int(row[at]) for row in rows}


def test_on_stop_requests_in_the_csv(diffctx, tmp_path):
    url = diffctx.target.url
    for tool in ("locust", "rlocust"):
        (tmp_path / tool).mkdir()
    locust_out = _run(diffctx.cmds["locust"], tmp_path / "locust" / "run", url)
    rlocust_out = _run(diffctx.cmds["rlocust"], tmp_path / "rlocust" / "run", url)

    # Locust: each user's on_stop request is in the final table, and not in _stats.csv
    assert _table_count(locust_out, "on_stop") == USERS, locust_out[-3000:]
    locust_csv = _csv_counts(tmp_path / "locust" / "run")
    assert "on_stop" not in locust_csv, locust_csv

    # rlocust: the same requests in the table and in _stats.csv, which matches the table row for row
    assert _table_count(rlocust_out, "on_stop") == USERS, rlocust_out[-3000:]
    rlocust_csv = _csv_counts(tmp_path / "rlocust" / "run")
    assert rlocust_csv.get("on_stop") == USERS, rlocust_csv
    assert rlocust_csv.get("task") == _table_count(rlocust_out, "task"), (rlocust_csv, rlocust_out[-3000:])
    assert rlocust_csv.get("Aggregated") == sum(n for name, n in rlocust_csv.items() if name != "Aggregated")
