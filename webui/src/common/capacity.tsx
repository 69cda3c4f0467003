// The capacity search (issue 52, `--search`) in the dashboard's Capacity tab and the HTML report: the headline
// (the capacity, the level probed now, the first failing level and the rule it broke, why the search ended), a
// row per judged probe, and two uPlot charts: latency percentiles against the requests per second achieved (the
// SLO's latency limits as horizontal lines) and the level achieved against the level offered (with y = x), both
// with the knee marked (the capacity and the first failing level). Renders the server's one JSON shape (`GET
// search`, the report's `search`) as it is; it judges nothing itself. Shown only when the run has a search.
import uPlot from "uplot";
import { useEffect, useRef } from "preact/hooks";
import type { Search, SearchOutcome, SearchProbe } from "./types";
import { Table } from "./table";
import type { Column } from "./table";
import { axisStyle, css, fromZero, mountChart, saveImage } from "./charts";
import { num } from "./format";

/** rlocust's shape of `GET search`: the search, or null without one (anything else: not rlocust's route). */
export function isSearchReply(v: unknown): v is Search | null {
  const o = v as Record<string, unknown> | null;
  return o === null || (typeof o === "object" && typeof o.mode === "string" && Array.isArray(o.probes));
}

/** A level in the search's unit: "310/s", "40 users"; "—" for none. */
export function level(v: number | null | undefined, unit: string): string {
  if (v == null) return "—";
  return unit === "1/s" ? `${num(v, 2)}/s` : `${num(v, 2)} ${unit}`;
}

const ENDED: Record<string, string> = {
  running: "still running",
  converged: "converged (the passing and the failing level are within the precision)",
  levels: "every given level probed",
  budget: "the probe budget was spent",
  reached_max: "the maximum level passed",
  nothing_passed: "no level passed",
  generator_bound: "the load generator, not the service, was the limit",
  interrupted: "interrupted",
};

/** "p95<100 at GET /login: 154.2 ms" (a breach's rule may also be "dropped" or "achieved"). */
function breach(b: SearchOutcome | null | undefined): string {
  if (!b) return "";
  const where = b.target && b.target !== "Aggregated" ? ` at ${b.target}` : "";
  return `${b.rule}${where}${b.actual == null ? "" : `: ${num(b.actual, 2)}${b.unit ? ` ${b.unit}` : ""}`}`;
}

/** The probe that gave the capacity (the last passing probe at that level), if any. */
function capacityProbe(s: Search): SearchProbe | undefined {
  return [...s.probes].reverse().find((p) => p.verdict === "pass" && p.offered === s.capacity);
}

function Headline({ s }: { s: Search }) {
  const running = s.state === "running";
  const ff = s.first_failing;
  const n = s.probes.length;
  const status = running ? `running: ${n} probe${n === 1 ? "" : "s"} judged`
    : `${s.state} after ${n} probe${n === 1 ? "" : "s"}${s.ended_by === s.state ? "" : `: ${ENDED[s.ended_by] ?? s.ended_by}`}`;
  return (
    <dl class="summary search-head" id="search-headline">
      <div><dt>{running ? "Capacity so far" : "Capacity"}</dt>
        <dd id="search-capacity" class="search-capacity">{s.capacity == null ? "none passed" : level(s.capacity, s.unit)}</dd></div>
      {running ? <div><dt>Probing now</dt><dd id="search-current">{level(s.current, s.unit)}</dd></div> : null}
      <div><dt>First failing</dt><dd id="search-failing" class={ff ? "bad" : undefined}>
        {ff ? `${level(ff.offered, s.unit)} (probe ${ff.index}, ${ff.verdict})${ff.breach ? `: ${breach(ff.breach)}` : ""}`
          : running ? "none yet" : "none"}</dd></div>
      <div><dt>Search</dt><dd id="search-status">{status}</dd></div>
      <div><dt>SLO</dt><dd id="search-slo">{s.slo}</dd></div>
      <div><dt>Mode</dt><dd>{s.mode === "users" ? "users (closed model)" : "arrival rate (open model)"}</dd></div>
      {s.gate != null ? (
        <div><dt>Gate</dt><dd id="search-gate" class={s.gate_passed ? undefined : "bad"}>
          capacity ≥ {level(s.gate, s.unit)}: {s.gate_passed ? "passed" : "failed"}</dd></div>
      ) : null}
    </dl>
  );
}

const n2 = (v: number | null | undefined) => (v == null ? "" : num(v, 2));
const pct = (v: number | null | undefined) => (v == null ? "" : `${num(v * 100, 2)}%`);

function ProbeTable({ s }: { s: Search }) {
  const labels = [...new Set(s.probes.flatMap((p) => (p.figures ?? []).map((f) => f.label)))];
  const figure = (p: SearchProbe, l: string) => p.figures?.find((f) => f.label === l)?.value;
  const cap = capacityProbe(s)?.index;
  const col = (label: string, v: (p: SearchProbe) => number | null | undefined, text = n2): Column<SearchProbe> =>
    ({ label, text: (p) => text(v(p)), sort: (p) => v(p) ?? -1, numeric: true });
  const columns: Column<SearchProbe>[] = [
    col("#", (p) => p.index, String),
    col(`Offered (${s.unit})`, (p) => p.offered),
    col(`Achieved (${s.unit})`, (p) => p.achieved),
    col("Requests/s", (p) => p.throughput),
    col("Mean in flight", (p) => p.mean_in_flight),
    col("Goodput/s", (p) => p.goodput),
    col("Goodput %", (p) => p.goodput_share, pct),
    col("p50 (ms)", (p) => p.p50),
    col("p95 (ms)", (p) => p.p95),
    col("p99 (ms)", (p) => p.p99),
    col("Fail %", (p) => p.fail_ratio, pct),
    ...labels.map((l) => col(l, (p) => figure(p, l))),
    col("Dropped", (p) => p.dropped, String),
    { label: "Verdict", className: "verdict",
      text: (p) => [p.verdict, p.extended ? "extended" : "", p.ended_early ? "ended early" : ""].filter(Boolean).join(", ") },
    { label: "Bound by", text: (p) => p.bound_by ?? "" },
  ];
  return (
    <Table<SearchProbe> id="search-probes" rows={s.probes} rowKey={(p) => String(p.index)} columns={columns}
      verdict={(p) => p.verdict} empty="No probe judged yet."
      rowClass={(p) => (p.index === cap ? "knee-pass" : p.index === s.first_failing?.index ? "knee-fail" : undefined)} />
  );
}

/** A line at `at` drawn in the CSS variable `color` (the theme's; the light one's in print). */
interface Mark { at: number; label: string; color: string }
interface XY {
  id: string;
  title: string;
  xLabel: string;
  series: { label: string; color: string; dash?: number[]; points?: boolean }[];
  xs: number[];
  ys: (number | null)[][];
  /** Vertical lines (the knee) and horizontal ones (the SLO's limits). */
  vmarks: Mark[];
  hmarks: Mark[];
}

/** Dashed lines with their labels; a vertical mark's label sits left of it when it is the first of two. */
function drawMarks(u: uPlot, c: XY) {
  const { ctx, bbox } = u;
  const r = devicePixelRatio;
  ctx.save();
  ctx.lineWidth = 1.5 * r;
  ctx.setLineDash([6 * r, 4 * r]);
  ctx.font = `${11 * r}px system-ui, sans-serif`;
  c.vmarks.forEach((m, i) => {
    const x = Math.round(u.valToPos(m.at, "x", true));
    if (x < bbox.left || x > bbox.left + bbox.width) return;
    ctx.strokeStyle = ctx.fillStyle = css(m.color);
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    const left = i === 0 && c.vmarks.length > 1;
    ctx.textAlign = left ? "right" : "left";
    ctx.fillText(m.label, x + (left ? -4 : 4) * r, bbox.top + 12 * r);
  });
  for (const m of c.hmarks) {
    const y = Math.round(u.valToPos(m.at, "y", true));
    if (y < bbox.top || y > bbox.top + bbox.height) continue;
    ctx.strokeStyle = ctx.fillStyle = css(m.color);
    ctx.beginPath();
    ctx.moveTo(bbox.left, y);
    ctx.lineTo(bbox.left + bbox.width, y);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(m.label, bbox.left + bbox.width - 4 * r, y - 4 * r);
  }
  ctx.restore();
}

/** A chart of points joined in x order, redrawn only when its data or the theme change. */
function XYChart({ c, theme }: { c: XY; theme: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const sig = JSON.stringify(c);
  useEffect(() => {
    const el = box.current!;
    const axis = axisStyle();
    const value = (_u: uPlot, v: number | null) => (v == null ? "--" : num(v, 2));
    // the SLO's limits stay in view above the data
    const top = Math.max(0, ...c.hmarks.map((m) => m.at * 1.1));
    const right = Math.max(0, ...c.vmarks.map((m) => m.at * 1.05));
    const opts: Omit<uPlot.Options, "width" | "height"> = {
      legend: { show: true, live: false }, // the table has the values
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false, range: (u, mn, mx) => fromZero(u, mn, Math.max(mx, right), "x") },
        y: { range: (u, mn, mx) => fromZero(u, mn, Math.max(mx, top), "y") },
      },
      axes: [{ ...axis, label: c.xLabel, labelSize: 24 }, { ...axis, size: 60 }],
      series: [{ label: c.xLabel, value }, ...c.series.map((s) => ({
        label: s.label, stroke: s.color, width: 2, dash: s.dash, spanGaps: true, value,
        points: { show: s.points ?? true, size: 7, fill: s.color },
      }))],
      hooks: { draw: [(u: uPlot) => drawMarks(u, c)] },
    };
    const [u, undo] = mountChart(opts, [c.xs, ...c.ys] as uPlot.AlignedData, el);
    plot.current = u;
    return () => {
      undo();
      plot.current = null;
    };
  }, [theme, sig]);
  return (
    <section class="chart">
      <div class="chart-head">
        <h3>{c.title}</h3>
        <button type="button" class="small save-image" title={`Save "${c.title}" as a PNG image`}
          onClick={() => plot.current && saveImage(plot.current, { title: c.title, dp: 2, series: c.series, data: () => [] })}>
          Save image</button>
      </div>
      <div ref={box} class="chart-canvas" id={c.id} data-points={c.xs.length}
        data-marks={[...c.vmarks, ...c.hmarks].map((m) => m.label).join("|")} />
    </section>
  );
}

const LATENCY: [keyof SearchProbe, string, string][] = [["p50", "p50", "#7c5cff"], ["p95", "p95", "#e69b00"], ["p99", "p99", "#d14fa8"]];
const CAPACITY = "--accent";
const FAILING = "--danger";

/** The two charts' data: points sorted by x (uPlot draws in x order), the knee and the SLO's latency limits. */
function charts(s: Search): XY[] {
  const cap = capacityProbe(s);
  const ff = s.probes.find((p) => p.index === s.first_failing?.index);
  const knee = (at: (p: SearchProbe) => number | null | undefined): Mark[] => [
    ...(cap && at(cap) != null ? [{ at: at(cap)!, label: `capacity ${level(cap.offered, s.unit)}`, color: CAPACITY }] : []),
    ...(ff && at(ff) != null ? [{ at: at(ff)!, label: `first failing ${level(ff.offered, s.unit)}`, color: FAILING }] : []),
  ];
  const byRps = s.probes.filter((p) => p.throughput != null).sort((a, b) => a.throughput! - b.throughput! || a.index - b.index);
  const byOffered = [...s.probes].sort((a, b) => a.offered - b.offered || a.index - b.index);
  // request latency rules (ttft.p95 and other metrics' rules are another series' figures)
  const limits = s.rules.filter((r) => r.unit === "ms" && !r.metric.includes("."))
    .map((r) => ({ at: r.limit, label: `SLO ${r.target && r.target !== "Aggregated" ? `${r.target}: ` : ""}${r.rule}`, color: FAILING }));
  const unit = s.unit === "1/s" ? "per second" : s.unit;
  return [
    {
      id: "search-latency", title: "Latency against throughput (ms)", xLabel: "Requests/s",
      series: LATENCY.map(([, label, color]) => ({ label, color })),
      xs: byRps.map((p) => p.throughput!), ys: LATENCY.map(([k]) => byRps.map((p) => p[k] as number | null)),
      vmarks: knee((p) => p.throughput), hmarks: limits,
    },
    {
      id: "search-achieved", title: `Achieved against offered (${unit})`, xLabel: `Offered (${s.unit})`,
      series: [{ label: "Achieved", color: "#2f7fd8" }, { label: "y = x", color: "#8a93a3", dash: [4, 4], points: false }],
      xs: byOffered.map((p) => p.offered), ys: [byOffered.map((p) => p.achieved), byOffered.map((p) => p.offered)],
      vmarks: knee((p) => p.offered), hmarks: [],
    },
  ];
}

export function SearchView({ s, theme }: { s: Search; theme: string }) {
  return (
    <section class="capacity" id="capacity" aria-label="Capacity search">
      <Headline s={s} />
      <ProbeTable s={s} />
      {s.probes.length ? <div class="charts">{charts(s).map((c) => <XYChart key={c.id} c={c} theme={theme} />)}</div> : null}
    </section>
  );
}
