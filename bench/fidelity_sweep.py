"""Reported latency against the truth as load rises to saturation (issue 14, deliver 4).

Runs the shared benchmark's fidelity workload (`../shared/bench/compare.py`: N users, constant(1), GET /delay50
on nginx, which answers after 50 ms; stats reset once every user runs) at rising user counts, for rlocust
HttpUser and real Locust 2.47 FastHttpUser, each run beside the benchmark's independent probe (one request every
20 ms on its own connection, at a higher priority). Prints one table row per run and writes an SVG chart of the
reported p50/p99 and the probe's p99 against the user count.

  python3 bench/fidelity_sweep.py --rlocust "$PWD/target/release/rlocust" --svg docs/fidelity-sweep.svg
  python3 bench/fidelity_sweep.py --users 1000,5000 --only rlocust

The file-descriptor limit is raised here (every user holds a connection), for the generators it starts. Loopback
only; every run is bounded by compare.py's run time.
"""

import argparse
import importlib.util
import os
import resource
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def load_compare(path):
    spec = importlib.util.spec_from_file_location("compare", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))  # above the hard limit: root only
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def svg(rows, users):
    """A line chart, log-scale ms: each generator's reported p50/p99 and the probe's p99 against the user count."""
    import math

    w, h, left, bottom, top, right = 820, 420, 64, 50, 20, 290
    xs = sorted(users)
    ys = [v for r in rows for v in (r.get("p50_f"), r.get("p99_f"), r.get("probe_p99")) if isinstance(v, (int, float))]
    lo, hi = 20.0, max(200.0, max(ys) * 1.3) if ys else 200.0

    def px(u):
        return left + (w - left - right) * (xs.index(u) / max(1, len(xs) - 1))

    def py(v):
        v = min(max(v, lo), hi)
        return top + (h - top - bottom) * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>']
    tick = 20.0
    while tick <= hi:
        for m in (1, 2.5, 5):
            v = tick * m
            if lo <= v <= hi:
                out.append(f'<line x1="{left}" x2="{w - right}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>')
                out.append(f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
        tick *= 10
    for u in xs:
        out.append(f'<text x="{px(u):.1f}" y="{h - bottom + 18}" text-anchor="middle">{u:,}</text>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 8}" text-anchor="middle">'
               'users (constant(1) wait, nginx answers after 50 ms)</text>')
    mid = top + (h - top - bottom) / 2
    out.append(f'<text x="14" y="{mid}" transform="rotate(-90 14 {mid})" text-anchor="middle">ms (log scale)</text>')
    series = []
    colours = {"rlocust HttpUser": "#1f77b4", "locust FastHttpUser": "#d62728"}
    for label, colour in colours.items():
        mine = [r for r in rows if r["label"] == label]
        for key, dash, name in (("p99_f", "", "reported p99"), ("p50_f", "2,3", "reported p50"),
                                ("probe_p99", "8,4", "probe p99 (the truth)")):
            pts = [(px(r["users"]), py(r[key])) for r in mine if isinstance(r.get(key), (int, float))]
            if pts:
                series.append((f"{label}: {name}", colour, dash, pts))
    for i, (name, colour, dash, pts) in enumerate(series):
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>')
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
        ly = top + 10 + i * 18
        out.append(f'<line x1="{w - right + 10}" x2="{w - right + 40}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                   f'stroke-width="2" stroke-dasharray="{dash}"/>')
        out.append(f'<text x="{w - right + 46}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rlocust", default=os.path.join(HERE, "..", "target", "release", "rlocust"))
    ap.add_argument("--compare", default=os.path.join(HERE, "..", "..", "shared", "bench", "compare.py"))
    ap.add_argument("--users", default="1000,2500,5000,10000,20000")
    ap.add_argument("--only", choices=["rlocust", "locust"])
    ap.add_argument("--svg", help="write the chart here")
    ap.add_argument("--rows", help="save the rows as JSON here (and with --replot, draw the chart from such a file)")
    ap.add_argument("--replot", action="store_true", help="only draw --svg from --rows, run nothing")
    a = ap.parse_args()
    users = [int(u) for u in a.users.split(",")]
    if a.replot:
        import json

        rows = json.load(open(a.rows))
        with open(a.svg, "w") as f:
            f.write(svg(rows, sorted({r["users"] for r in rows})))
        return
    if not os.path.exists(a.compare):
        sys.exit(f"needs the shared benchmark: {a.compare} (--compare PATH)")
    compare = load_compare(a.compare)
    raise_fd_limit(max(users) * 2 + 1024)
    compare.ensure_nginx()
    gens = []
    if a.only != "locust":
        gens.append(("rlocust HttpUser", os.path.abspath(a.rlocust), "HttpUser"))
    if a.only != "rlocust":
        gens.append(("locust FastHttpUser", compare.ensure_locust(), "FastHttpUser"))
    work = tempfile.mkdtemp(prefix="rlocust-sweep-")
    nginx, host = compare.start_nginx(work)
    rows = []
    try:
        print("| generator | users | requests/s | of intended | CPU µs/request | p50 ms | p99 ms | probe p50 ms | "
              "probe p99 ms | RSS KB/user |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for n in users:
            seconds = max(30, n // 1000 + 25)  # the ramp (1,000 users/s) plus a steady part of at least 25 s
            for label, cmd, base in gens:
                r = compare.run_generator(label, cmd, base, 1, "/delay50", n, seconds, host, work, True)
                r["users"] = n
                for k in ("p50", "p99"):
                    try:
                        r[k + "_f"] = float(r[k])
                    except (TypeError, ValueError):
                        pass
                rows.append(r)
                print(f"| {label} | {n:,} | {r['rps']:,.0f} | {r['rps'] / (n / 1.05):.0%} | "
                      f"{r['cpu_us_per_req']:.1f} | {r['p50']} | {r['p99']} | {r.get('probe_p50', 'n/a')} | "
                      f"{r.get('probe_p99', 'n/a')} | {r['rss_kb'] / n:.1f} |", flush=True)
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(work, ignore_errors=True)
    if a.rows:
        import json

        with open(a.rows, "w") as f:
            json.dump(rows, f, indent=1)
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg(rows, users))
        print(f"chart: {a.svg}")


if __name__ == "__main__":
    main()
