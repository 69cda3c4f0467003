"""Differential harness: run one locustfile under real Locust and under rlocust, then compare what a user sees.

Directive lines (comments at the top of each locustfile; see README.md):

    # diff: -u 4 -r 4 -t 4s                 arguments for both tools (required; one run per `diff` line)
    # diff[name]: -u 2 -t 3s -T tag1        a named variant; every other key may also carry [name]
    # diff-extra-args: --my-arg 3           appended after the `diff` arguments
    # diff-host: {dead_host}                the -H value (default {host}; `none` = no -H)
    # diff-env: NAME=value ...              extra environment variables for both tools
    # diff-check: all -shares               checks to run (names shares counts failures exceptions exit
                                            csv-headers markers files); `all` and `-name` to drop one
    # diff-expect: exit=1 rows>=3 ...       facts both tools must show (guards the scenario itself)
    # diff-shares: cluster=2 group=^(\\w+): NAME_REGEX
    # diff-counts: abs=0 rel=0 NAME_REGEX   cross-tool request-count tolerance for matching rows
    # diff-markers: mode=count REGEX        stdout/stderr lines (from the locustfile) to compare
    # diff-normalize: REGEX => REPL         rewrite row names before every comparison
    # diff-files: markers.txt               files the locustfile writes in its working directory; their
                                            lines are compared as multisets
    # diff-timeout: 40                      hard bound in seconds for one tool's run
    # diff-xfail: reason                    the variant is expected to fail against rlocust (shown as xfail)
    # diff-oracle: LOCUST_PLUGINS_BIN       the oracle command for this scenario comes from this environment
                                            variable instead of LOCUST_BIN (unset: the scenario fails)
    # diff-sequential: reason               the two tools run one after the other even with DIFF_PARALLEL=1 (their
                                            timings depend on a server both would load at once)
    # diff-at: after=REGEX 1.5 signal=INT   during the run: wait for a stdout/stderr line matching REGEX (optional),
    # diff-at: 0.5 keys=wW                  then the seconds given, then send the signal to the process group (as
                                            a terminal's Ctrl+C does) or type the keys; several lines run in order
    # diff-stdin: tty                       stdin is a pseudo-terminal (implied by keys=); default /dev/null
    # diff-ignore-signals: INT              the tools start with these signals ignored (as under nohup)

Placeholders in argument/host/env values: {host} (http://127.0.0.1:PORT of the target), {hostport}
(127.0.0.1:PORT), {dead_host} (a loopback URL where nothing listens).
"""
from __future__ import annotations

import collections
import csv
import io
import math
import os
import pty
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHECKS = ("names", "shares", "counts", "failures", "exceptions", "exit", "csv-headers", "markers", "files")
CSV_SUFFIXES = ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv")
# Two-sided z bound for one share comparison: P(|Z| > 5) = 5.7e-7, so a suite with a few hundred share
# comparisons raises a false alarm about once in ten thousand runs.
SHARE_Z = float(os.environ.get("DIFF_SHARE_Z", "5.0"))
STDERR_TAIL = int(os.environ.get("DIFF_STDERR_TAIL", "40"))

_DIRECTIVE = re.compile(r"^#\s*(diff(?:-[a-z-]+)?)(?:\[([\w.-]+)\])?\s*:\s*(.*?)\s*$")
_KEYS = {"diff", "diff-extra-args", "diff-host", "diff-env", "diff-check", "diff-expect", "diff-shares",
         "diff-counts", "diff-markers", "diff-normalize", "diff-timeout", "diff-xfail", "diff-files", "diff-oracle",
         "diff-csv", "diff-at", "diff-stdin", "diff-ignore-signals", "diff-sequential"}
_MULTI = {"diff-counts", "diff-markers", "diff-normalize", "diff-expect", "diff-at"}


class DirectiveError(ValueError):
    pass


@dataclass
class Variant:
    file: Path
    name: str
    args: list[str]
    host: str = "{host}"
    env: dict[str, str] = field(default_factory=dict)
    checks: tuple[str, ...] = CHECKS
    expect: list[str] = field(default_factory=list)
    shares: dict = field(default_factory=dict)
    counts: list[dict] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    normalize: list[tuple[re.Pattern, str]] = field(default_factory=list)
    timeout: float | None = None
    xfail: str | None = None
    oracle: str | None = None  # environment variable holding this scenario's oracle command
    sequential: bool = False  # diff-sequential: never run both tools at once
    files: list[str] = field(default_factory=list)
    csv: bool = True  # False: the run ends before any CSV file is opened (`# diff-csv: none`)
    actions: list[dict] = field(default_factory=list)  # diff-at: {"after": regex|None, "wait": s, "signal"|"keys": ...}
    tty: bool = False
    ignore_signals: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.file.stem if self.name == "default" else f"{self.file.stem}[{self.name}]"


def _options(text: str) -> tuple[dict[str, str], str]:
    """Leading `key=value` tokens, then the rest (a regex that may contain spaces)."""
    opts = {}
    rest = text.strip()
    while True:
        m = re.match(r"(\w+)=(\S+)\s*", rest)
        if not m:
            return opts, rest
        opts[m.group(1)] = m.group(2)
        rest = rest[m.end():]


def _signal(path: Path, name: str) -> signal.Signals:
    try:
        return signal.Signals["SIG" + name]
    except KeyError:
        raise DirectiveError(f"{path.name}: unknown signal {name!r} (e.g. INT, TERM)") from None


def _action(path: Path, text: str) -> dict:
    """`[after=REGEX] SECONDS signal=NAME|keys=CHARS` (REGEX without spaces: use \\s)."""
    m = re.fullmatch(r"(?:after=(\S+)\s+)?([\d.]+)\s+(signal|keys)=(\S+)", text.strip())
    if not m:
        raise DirectiveError(f"{path.name}: diff-at takes '[after=REGEX] SECONDS signal=NAME|keys=CHARS', not {text!r}")
    after, wait, kind, what = m.groups()
    action = {"after": re.compile(after) if after else None, "wait": float(wait)}
    if kind == "signal":
        action["signal"] = _signal(path, what)
    else:
        action["keys"] = what.encode()
    return action


def parse_directives(path: Path) -> list[Variant]:
    raw: dict[str, dict[str | None, list[str]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _DIRECTIVE.match(line.strip())
        if not m:
            continue
        key, var, value = m.groups()
        if key not in _KEYS:
            raise DirectiveError(f"{path.name}:{lineno}: unknown directive {key!r} (known: {sorted(_KEYS)})")
        raw[key][var].append(value)
    if "diff" not in raw:
        raise DirectiveError(f"{path.name}: no '# diff: <args>' directive line; every scenario needs one")

    variants = []
    for var, values in raw["diff"].items():
        if len(values) != 1:
            raise DirectiveError(f"{path.name}: variant {var or 'default'!r} has {len(values)} '# diff' lines")

        def get(key, default=None, _var=var):
            d = raw.get(key, {})
            if key in _MULTI:  # unscoped lines apply to every variant, scoped ones add to them
                return d.get(None, []) + (d.get(_var, []) if _var else [])
            vals = d.get(_var) or d.get(None)
            return vals[-1] if vals else default

        v = Variant(file=path, name=var or "default", args=shlex.split(values[0]) + shlex.split(get("diff-extra-args", "")))
        v.host = get("diff-host", "{host}")
        v.env = dict(kv.split("=", 1) for kv in shlex.split(get("diff-env", "")))
        checks = get("diff-check", "all").split()
        chosen = list(CHECKS) if (not checks or checks[0] == "all") else []
        for c in checks:
            if c == "all":
                continue
            name = c.lstrip("-")
            if name not in CHECKS:
                raise DirectiveError(f"{path.name}: unknown check {name!r} (known: {', '.join(CHECKS)})")
            if c.startswith("-"):
                chosen = [x for x in chosen if x != name]
            elif name not in chosen:
                chosen.append(name)
        for check, key in (("counts", "diff-counts"), ("files", "diff-files")):
            if not get(key) and check in chosen and check not in checks:
                chosen.remove(check)  # `all` means these only where the scenario gives their rules
        v.checks = tuple(chosen)
        v.expect = get("diff-expect")
        opts, regex = _options(get("diff-shares", ""))
        v.shares = {"cluster": float(opts.get("cluster", 1)), "group": opts.get("group"), "regex": regex or ".*"}
        for text in get("diff-counts"):
            opts, regex = _options(text)
            v.counts.append({"abs": float(opts.get("abs", 0)), "rel": float(opts.get("rel", 0)), "regex": regex or ".*"})
        for text in get("diff-markers"):
            opts, regex = _options(text)
            mode = opts.get("mode", "count")
            if mode not in ("count", "set", "seq"):
                raise DirectiveError(f"{path.name}: diff-markers mode must be count, set or seq, not {mode!r}")
            part = opts.get("part", "line")
            if part not in ("line", "match"):
                raise DirectiveError(f"{path.name}: diff-markers part must be line or match, not {part!r}")
            v.markers.append({"mode": mode, "regex": regex, "part": part})
        if not v.markers:
            v.markers.append({"mode": "count", "regex": r"\bMARK\b", "part": "line"})
        for text in get("diff-normalize"):
            pat, _, repl = text.partition("=>")
            v.normalize.append((re.compile(pat.strip()), repl.strip()))
        t = get("diff-timeout")
        v.timeout = float(t) if t else None
        v.xfail = get("diff-xfail")
        v.oracle = get("diff-oracle")
        v.sequential = get("diff-sequential") is not None
        if v.oracle is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", v.oracle):
            raise DirectiveError(f"{path.name}: diff-oracle takes an environment variable name, not {v.oracle!r}")
        v.files = get("diff-files", "").split()
        csv_mode = get("diff-csv", "expected")
        if csv_mode not in ("expected", "none"):
            raise DirectiveError(f"{path.name}: diff-csv takes 'none' (or 'expected', the default), not {csv_mode!r}")
        v.csv = csv_mode == "expected"
        for text in get("diff-at"):
            v.actions.append(_action(path, text))
        stdin = get("diff-stdin", "devnull")
        if stdin not in ("devnull", "tty"):
            raise DirectiveError(f"{path.name}: diff-stdin is tty or devnull, not {stdin!r}")
        v.tty = stdin == "tty" or any("keys" in a for a in v.actions)
        v.ignore_signals = get("diff-ignore-signals", "").split()
        for name in v.ignore_signals:
            _signal(path, name)
        variants.append(v)
    return variants


# ---------------------------------------------------------------- running

def timespan(s: str) -> int:
    if s.isdigit():
        return int(s)
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", s)
    if not m or not s:
        raise DirectiveError(f"bad timespan {s!r}")
    h, mi, se = (int(x or 0) for x in m.groups())
    return h * 3600 + mi * 60 + se


def run_bound(args: list[str]) -> float:
    """Seconds one tool may take: run time + stop timeout + startup/shutdown grace."""
    run_time, stop = 20, 0
    for i, a in enumerate(args[:-1]):
        if a in ("-t", "--run-time"):
            run_time = timespan(args[i + 1])
        if a in ("-s", "--stop-timeout"):
            stop = timespan(args[i + 1])
    return run_time + stop + 30


@dataclass
class RunResult:
    tool: str
    cmd: list[str]
    rc: int | None
    seconds: float
    stdout: str
    stderr: str
    csv_prefix: Path
    timed_out: bool = False
    error: str | None = None

    def tail(self, n: int = STDERR_TAIL) -> str:
        """The last n stderr lines, without the stats tables (they are in the CSVs), so errors stay visible."""
        lines, skipping = [], False
        for line in self.stderr.splitlines():
            if line.startswith(("Type     Name", "Response time percentiles", "Error report")):
                skipping = True
            if not skipping:
                lines.append(line)
            elif not line.strip():
                skipping = False
        return "\n".join(lines[-n:])

    def summary(self) -> str:
        state = "TIMED OUT" if self.timed_out else f"exit {self.rc}"
        head = f"--- {self.tool}: {state} after {self.seconds:.1f}s: {shlex.join(self.cmd)}"
        if self.error:
            head += f"\n    {self.error}"
        return f"{head}\n--- {self.tool} stderr (last {STDERR_TAIL} lines, stats tables left out):\n{self.tail()}"

    def csv_path(self, suffix: str) -> Path:
        return Path(str(self.csv_prefix) + suffix)


def resolve_command(env_var: str, default: str) -> list[str]:
    """The command in `env_var` (shell words) or `default`; fails loudly when it cannot be found."""
    text = os.environ.get(env_var) or default
    words = shlex.split(text)
    if not words:
        raise FileNotFoundError(f"{env_var} is empty")
    exe = words[0]
    found = (exe if os.path.isfile(exe) and os.access(exe, os.X_OK) else None) if "/" in exe else shutil.which(exe)
    if not found:
        raise FileNotFoundError(f"{env_var}: {exe!r} not found or not executable "
                                f"(value: {text!r}; set {env_var}=/path/to/binary)")
    return [found] + words[1:]


def substitute(text: str, places: dict[str, str]) -> str:
    for k, val in places.items():
        text = text.replace("{" + k + "}", val)
    return text


def run_tool(tool: str, base_cmd: list[str], variant: Variant, places: dict[str, str], workdir: Path) -> RunResult:
    workdir.mkdir(parents=True, exist_ok=True)
    places = dict(places, dir=str(variant.file.parent.resolve()))
    prefix = workdir / tool
    cmd = list(base_cmd) + ["-f", str(variant.file), "--headless"]
    host = substitute(variant.host, places)
    if host.lower() != "none":
        cmd += ["-H", host]
    cmd += ["--csv", str(prefix)] + [substitute(a, places) for a in variant.args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"})
    env.update({k: substitute(v, places) for k, v in variant.env.items()})
    # coreutils' env sets the dispositions and execs the tool (same pid), so both inherit them as from a shell
    launch = ["env"] + [f"--ignore-signal={s}" for s in variant.ignore_signals] + cmd if variant.ignore_signals else cmd
    bound = variant.timeout or run_bound(variant.args)
    out_f, err_f = workdir / f"{tool}.stdout", workdir / f"{tool}.stderr"
    start = time.monotonic()
    timed_out, error, rc = False, None, None
    master = slave = None
    if variant.tty:
        master, slave = pty.openpty()
    with open(out_f, "wb") as so, open(err_f, "wb") as se:
        try:
            proc = subprocess.Popen(launch, stdout=so, stderr=se, stdin=slave if variant.tty else subprocess.DEVNULL,
                                    cwd=workdir, env=env, start_new_session=True)
        except OSError as e:
            error = f"could not start: {e}"
        else:
            actor = None
            if variant.actions:
                actor = threading.Thread(target=_act, args=(proc, variant.actions, (out_f, err_f), master, start + bound),
                                         daemon=True)
                actor.start()
            try:
                rc = proc.wait(timeout=bound)
            except subprocess.TimeoutExpired:
                timed_out = True
                error = f"killed after the {bound:.0f}s bound"
                for sig, grace in ((signal.SIGINT, 5), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        rc = proc.wait(timeout=grace)
                        break
                    except subprocess.TimeoutExpired:
                        continue
            if actor is not None:
                actor.join(timeout=5)
        finally:
            for fd in (master, slave):
                if fd is not None:
                    os.close(fd)
    seconds = time.monotonic() - start
    read = lambda p: p.read_bytes().decode("utf-8", "replace")
    return RunResult(tool, cmd, rc, seconds, read(out_f), read(err_f), prefix, timed_out, error)


def _act(proc: subprocess.Popen, actions: list[dict], outputs: tuple[Path, Path], tty: int | None, deadline: float):
    """The `diff-at` actions, in order, while the process runs; an action whose line never shows is skipped
    with the rest (the run's own checks then show what went wrong)."""
    for action in actions:
        if action["after"] is not None:
            while not any(action["after"].search(p.read_bytes().decode("utf-8", "replace")) for p in outputs):
                if proc.poll() is not None or time.monotonic() > deadline:
                    return
                time.sleep(0.05)
        end = time.monotonic() + action["wait"]
        while time.monotonic() < end:
            if proc.poll() is not None:
                return
            time.sleep(0.02)
        if "signal" in action:
            try:
                os.killpg(proc.pid, action["signal"])
            except ProcessLookupError:
                return
        else:
            os.write(tty, action["keys"])


def run_pair(cmds: dict[str, list[str]], variant: Variant, places: dict[str, str], workdir: Path,
             parallel: bool) -> dict[str, RunResult]:
    results: dict[str, RunResult] = {}

    def one(tool):
        results[tool] = run_tool(tool, cmds[tool], variant, places, workdir / tool)

    if parallel and not variant.sequential:
        threads = [threading.Thread(target=one, args=(t,)) for t in cmds]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for t in cmds:
            one(t)
    return {t: results[t] for t in cmds}


# ---------------------------------------------------------------- reading results

def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return (rows[0] if rows else []), rows[1:]


@dataclass
class Outcome:
    """What a user sees in one run, after name normalization."""
    stats: dict[tuple[str, str], int]          # (Type, Name) -> Request Count (Aggregated excluded)
    last_row: tuple[str, str] | None
    failures: dict[tuple[str, str, str], int]  # (Method, Name, Error) -> Occurrences
    exceptions: collections.Counter            # (Message, locustfile frames, Nodes) -> rows
    exception_counts: dict[tuple, int]

    @property
    def requests(self) -> int:
        return sum(self.stats.values())


def _norm(name: str, normalize) -> str:
    for pat, repl in normalize:
        name = pat.sub(repl, name)
    return name


def locustfile_frames(traceback: str, locustfile: Path) -> tuple[tuple[str, int], ...]:
    """(function, line) of each traceback frame that lies in the locustfile itself, outermost first."""
    frames = []
    for m in re.finditer(r'File "([^"]+)", line (\d+), in (\S+)', traceback):
        if Path(m.group(1)).name == locustfile.name:
            frames.append((m.group(3), int(m.group(2))))
    return tuple(frames)


def read_outcome(res: RunResult, variant: Variant) -> Outcome:
    _, rows = read_csv(res.csv_path("_stats.csv"))
    stats: dict[tuple[str, str], int] = collections.Counter()
    for r in rows[:-1] if rows else []:
        stats[(r[0], _norm(r[1], variant.normalize))] += int(r[2])
    last = (rows[-1][0], rows[-1][1]) if rows else None
    _, frows = read_csv(res.csv_path("_failures.csv"))
    failures: dict[tuple[str, str, str], int] = collections.Counter()
    for r in frows:
        failures[(r[0], _norm(r[1], variant.normalize), r[2])] += int(r[3])
    _, erows = read_csv(res.csv_path("_exceptions.csv"))
    exceptions: collections.Counter = collections.Counter()
    counts: dict[tuple, int] = collections.Counter()
    for r in erows:
        key = (r[1], locustfile_frames(r[2], variant.file), r[3])
        exceptions[key] += 1
        counts[key] += int(r[0])
    return Outcome(dict(stats), last, dict(failures), exceptions, dict(counts))


def empty_outcome() -> Outcome:
    """The outcome of a run that wrote no CSV files."""
    return Outcome({}, None, {}, collections.Counter(), {})


def marker_lines(res: RunResult, regex: str, part: str = "line") -> list[str]:
    """Lines of stdout then stderr that match `regex`: from the match start (drops log prefixes), or with
    `part="match"` only the matched text (drops what differs after it, e.g. rlocust's version suffix)."""
    pat = re.compile(regex)
    out = []
    for stream in (res.stdout, res.stderr):
        for line in stream.splitlines():
            m = pat.search(line)
            if m:
                out.append(m.group(0) if part == "match" else line[m.start():].rstrip())
    return out


# ---------------------------------------------------------------- checks (each returns a list of problems)

def check_expectations(variant: Variant, res: RunResult, out: Outcome) -> list[str]:
    problems = []
    facts = {"exit": res.rc, "rows": len(out.stats), "failures": len(out.failures),
             "exceptions": len(out.exceptions), "requests": out.requests,
             "seconds": math.ceil(res.seconds)}
    ops = {"=": lambda a, b: a == b, "==": lambda a, b: a == b, ">=": lambda a, b: a >= b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b}
    for text in variant.expect:
        for m in re.finditer(r"(\w+)(?:\[([^\]]*)\])?\s*(==|>=|<=|=|>|<)\s*(-?\d+)", text):
            key, arg, op, want = m.group(1), m.group(2), m.group(3), int(m.group(4))
            if key in ("count", "spread"):
                pat = re.compile(arg or ".*")
                got_counts = [n for (t, name), n in out.stats.items() if pat.fullmatch(name) or pat.fullmatch(f"{t} {name}")]
                if not got_counts:
                    problems.append(f"expect {m.group(0)}: no stats row matches {arg!r}")
                    continue
                got = sum(got_counts) if key == "count" else max(got_counts) - min(got_counts)
            elif key in facts:
                got = facts[key]
            else:
                problems.append(f"unknown expectation {key!r} in {text!r}")
                continue
            if got is None or not ops[op](got, want):
                problems.append(f"{res.tool}: expected {m.group(0)}, got {got}")
    return problems


def check_names(a: Outcome, b: Outcome, ta: str, tb: str) -> list[str]:
    problems = []
    only_a, only_b = set(a.stats) - set(b.stats), set(b.stats) - set(a.stats)
    if only_a or only_b:
        problems.append(f"(Type, Name) rows differ in _stats.csv:\n  only in {ta}: {sorted(only_a)}\n  only in {tb}: {sorted(only_b)}")
    for tool, o in ((ta, a), (tb, b)):
        if o.last_row != ("", "Aggregated"):
            problems.append(f"{tool}: last _stats.csv row is {o.last_row}, expected ('', 'Aggregated')")
    return problems


def share_table(a: Outcome, b: Outcome, cluster: float, group: str | None, regex: str, z: float = SHARE_Z):
    """Per row: (group, key, countA, totalA, countB, totalB, |pA - pB|, bound); groups without data are
    returned with totals of 0.

    Two-sample proportion test: bound = z * sqrt(K * p(1-p) * (1/nA + 1/nB)), p the pooled share. K (cluster)
    inflates the variance when one scheduling decision may issue up to K requests of the same row (requests
    are then not independent draws).
    """
    pat = re.compile(regex)
    gpat = re.compile(group) if group else None
    groups: dict[str, set] = collections.defaultdict(set)
    for key in set(a.stats) | set(b.stats):
        if not pat.fullmatch(key[1]):
            continue
        g = ""
        if gpat:
            m = gpat.search(key[1])
            g = (m.group(1) if m.groups() else m.group(0)) if m else ""
        groups[g].add(key)
    table = []
    for g, keys in sorted(groups.items()):
        na = sum(a.stats.get(k, 0) for k in keys)
        nb = sum(b.stats.get(k, 0) for k in keys)
        for k in sorted(keys):
            ca, cb = a.stats.get(k, 0), b.stats.get(k, 0)
            if na == 0 or nb == 0:
                table.append((g, k, ca, na, cb, nb, float("nan"), float("nan")))
                continue
            p = (ca + cb) / (na + nb)
            bound = z * math.sqrt(cluster * p * (1 - p) * (1 / na + 1 / nb))
            table.append((g, k, ca, na, cb, nb, abs(ca / na - cb / nb), bound))
    return table


def share_problems(a: Outcome, b: Outcome, ta: str, tb: str, cluster: float, group: str | None, regex: str) -> list[str]:
    problems = []
    table = share_table(a, b, cluster, group, regex)
    if not table:
        problems.append(f"no stats row matches the share rows regex {regex!r}")
    for g, k, ca, na, cb, nb, diff, bound in table:
        if na == 0 or nb == 0:
            problems.append(f"group {g!r}: no requests in {ta if na == 0 else tb}")
        elif diff > bound:
            problems.append(f"share of {k} (group {g!r}): {ta} {ca / na:.4f} ({ca}/{na}) vs {tb} {cb / nb:.4f} "
                            f"({cb}/{nb}); |diff| {diff:.4f} > bound {bound:.4f} (z={SHARE_Z}, cluster={cluster:g})")
    return problems


def count_problems(a: Outcome, b: Outcome, ta: str, tb: str, rules: list[dict]) -> list[str]:
    problems = []
    for rule in rules:
        pat = re.compile(rule["regex"])
        keys = [k for k in set(a.stats) | set(b.stats) if pat.fullmatch(k[1]) or pat.fullmatch(f"{k[0]} {k[1]}")]
        if not keys:
            problems.append(f"diff-counts {rule['regex']!r} matches no row")
        for k in sorted(keys):
            ca, cb = a.stats.get(k, 0), b.stats.get(k, 0)
            tol = rule["abs"] + rule["rel"] * max(ca, cb)
            if abs(ca - cb) > tol:
                problems.append(f"request count of {k}: {ta} {ca} vs {tb} {cb} (tolerance {tol:g})")
    return problems


def check_failures(a: Outcome, b: Outcome, ta: str, tb: str) -> list[str]:
    problems = []
    only_a, only_b = set(a.failures) - set(b.failures), set(b.failures) - set(a.failures)
    if only_a or only_b:
        fmt = lambda s: "\n    ".join(map(repr, sorted(s))) or "-"
        problems.append(f"(Method, Name, Error) rows differ in _failures.csv:\n  only in {ta}:\n    {fmt(only_a)}\n  only in {tb}:\n    {fmt(only_b)}")
    for tool, o in ((ta, a), (tb, b)):
        problems += [f"{tool}: failure row {k} has occurrences {n}" for k, n in o.failures.items() if n <= 0]
    return problems


def check_exceptions(a: Outcome, b: Outcome, ta: str, tb: str) -> list[str]:
    problems = []
    if a.exceptions != b.exceptions:
        fmt = lambda c: "\n    ".join(f"{m!r} frames={fr} nodes={nd!r} x{n}" for (m, fr, nd), n in sorted(c.items())) or "-"
        problems.append(f"_exceptions.csv rows (Message, locustfile frames, Nodes) differ:\n  {ta}:\n    {fmt(a.exceptions)}\n  {tb}:\n    {fmt(b.exceptions)}")
    for tool, o in ((ta, a), (tb, b)):
        problems += [f"{tool}: exception row {k[0]!r} has count {n}" for k, n in o.exception_counts.items() if n <= 0]
    return problems


def bare_line_endings(data: bytes) -> int:
    """Record endings (LF outside quoted fields) not preceded by CR; newlines inside quoted fields are data."""
    bare, quoted, prev = 0, False, 0
    for c in data:
        if c == 0x22:  # '"' toggles; an escaped "" toggles twice
            quoted = not quoted
        elif c == 0x0A and not quoted and prev != 0x0D:
            bare += 1
        prev = c
    return bare


def check_csv_format(ra: RunResult, rb: RunResult) -> list[str]:
    problems = []
    for suffix in CSV_SUFFIXES:
        pa, pb = ra.csv_path(suffix), rb.csv_path(suffix)
        ba, bb = pa.read_bytes(), pb.read_bytes()
        ha, hb = ba.split(b"\n", 1)[0], bb.split(b"\n", 1)[0]
        if ha != hb:
            problems.append(f"{suffix} header differs:\n  {ra.tool}: {ha!r}\n  {rb.tool}: {hb!r}")
        for res, data in ((ra, ba), (rb, bb)):
            if not data.endswith(b"\r\n"):
                problems.append(f"{res.tool}: {suffix} does not end with CRLF (last bytes {data[-10:]!r})")
            bare = bare_line_endings(data)
            if bare:
                problems.append(f"{res.tool}: {suffix} has {bare} record ending(s) without CR")
            header, rows = read_csv(res.csv_path(suffix))
            bad = [i for i, r in enumerate(rows, 2) if len(r) != len(header)]
            if bad:
                problems.append(f"{res.tool}: {suffix} lines {bad[:5]} do not have {len(header)} columns")
    return problems


def check_markers(ra: RunResult, rb: RunResult, rules: list[dict]) -> list[str]:
    problems = []
    for rule in rules:
        part = rule.get("part", "line")
        la, lb = marker_lines(ra, rule["regex"], part), marker_lines(rb, rule["regex"], part)
        if rule["mode"] == "count":
            same = collections.Counter(la) == collections.Counter(lb)
        elif rule["mode"] == "set":
            same = set(la) == set(lb)
        else:
            same = la == lb
        if not same:
            problems.append(f"marker lines /{rule['regex']}/ (mode {rule['mode']}) differ:\n  {ra.tool}: {la}\n  {rb.tool}: {lb}")
    return problems


def check_files(ra: RunResult, rb: RunResult, names: list[str]) -> list[str]:
    problems = []
    for name in names:
        texts = {}
        for res in (ra, rb):
            path = res.csv_prefix.parent / name
            if not path.exists():
                problems.append(f"{res.tool} did not write {name} in its working directory")
            else:
                texts[res.tool] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if len(texts) == 2 and collections.Counter(texts[ra.tool]) != collections.Counter(texts[rb.tool]):
            problems.append(f"lines of {name} differ:\n  {ra.tool}: {texts[ra.tool]}\n  {rb.tool}: {texts[rb.tool]}")
    return problems
