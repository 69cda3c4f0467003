// The three charts Locust shows (total RPS and failures/s, response-time percentiles, users), drawn with uPlot.
// `ChartData` is the bounded client-side series: seeded from the server's history (§1.8), appended by each stats
// poll, thinned when it grows past MAX_POINTS so a day-long run costs the same as a ten-minute one.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";
import type { HistoryPoint } from "./types";
import { percentileKey, percentileLabel } from "./format";

export const MAX_POINTS = 2000;

export class ChartData {
  t: number[] = [];
  rps: (number | null)[] = [];
  fails: (number | null)[] = [];
  users: (number | null)[] = [];
  pct: (number | null)[][];
  /** Times (s) where a new test started after a stop: drawn as a dashed marker. */
  restarts: number[] = [];
  /** Bumped on every change so components know when to redraw. */
  version = 0;

  constructor(readonly percentiles: number[]) {
    this.pct = percentiles.map(() => []);
  }

  static fromHistory(history: HistoryPoint[] | undefined, percentiles: number[]): ChartData {
    const d = new ChartData(percentiles);
    for (const h of history ?? []) {
      const value = (k: string): number | null => {
        const v = h[k];
        return Array.isArray(v) && typeof v[1] === "number" ? v[1] : null;
      };
      const t = Date.parse(String(h.time)) / 1000;
      if (!Number.isFinite(t)) continue;
      d.push(t, value("current_rps"), value("current_fail_per_sec"),
        percentiles.map((p) => value(percentileKey(p))), value("user_count"));
    }
    return d;
  }

  push(t: number, rps: number | null, fails: number | null, pct: (number | null)[], users: number | null) {
    const last = this.t.length ? this.t[this.t.length - 1] : -Infinity;
    if (t <= last) t = last + 0.001; // uPlot needs increasing x
    this.t.push(t);
    this.rps.push(rps);
    this.fails.push(fails);
    this.users.push(users);
    this.pct.forEach((s, i) => s.push(pct[i] ?? null));
    if (this.t.length > MAX_POINTS) this.thin();
    this.version++;
  }

  /** A break in the lines (a new test after a stop). */
  gap(t: number) {
    if (!this.t.length || this.rps[this.rps.length - 1] === null) return;
    this.push(t, null, null, this.pct.map(() => null), null);
    this.restarts.push(this.t[this.t.length - 1]);
    if (this.restarts.length > 100) this.restarts.shift();
  }

  /** Drops every second point of the older half; gap markers (nulls) are kept so breaks stay visible. */
  private thin() {
    const half = this.t.length >> 1;
    const keep: number[] = [];
    for (let i = 0; i < this.t.length; i++) {
      if (i >= half || i % 2 === 0 || this.rps[i] === null) keep.push(i);
    }
    const pick = <T,>(a: T[]) => keep.map((i) => a[i]);
    this.t = pick(this.t);
    this.rps = pick(this.rps);
    this.fails = pick(this.fails);
    this.users = pick(this.users);
    this.pct = this.pct.map(pick);
  }
}

const PCT_COLORS = ["#7c5cff", "#e69b00", "#00a3a3", "#d14fa8", "#6b8e23", "#8b5a2b"];

function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

interface ChartSpec {
  title: string;
  series: { label: string; color: string }[];
  data: (d: ChartData) => (number | null)[][];
}

export function chartSpecs(percentiles: number[]): ChartSpec[] {
  return [
    {
      title: "Total Requests per Second",
      series: [{ label: "RPS", color: "#2e9d4f" }, { label: "Failures/s", color: "#d9413b" }],
      data: (d) => [d.rps, d.fails],
    },
    {
      title: "Response Times (ms)",
      series: percentiles.map((p, i) => ({ label: percentileLabel(p), color: PCT_COLORS[i % PCT_COLORS.length] })),
      data: (d) => d.pct,
    },
    {
      title: "Number of Users",
      series: [{ label: "Users", color: "#2f7fd8" }],
      data: (d) => [d.users],
    },
  ];
}

function drawRestarts(u: uPlot, times: number[]) {
  const { ctx, bbox } = u;
  ctx.save();
  ctx.strokeStyle = css("--fg-muted");
  ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.lineWidth = devicePixelRatio;
  for (const t of times) {
    const x = Math.round(u.valToPos(t, "x", true));
    if (x < bbox.left || x > bbox.left + bbox.width) continue;
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
  }
  ctx.restore();
}

function Chart({ spec, data, theme }: { spec: ChartSpec; data: ChartData; theme: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const axis = { stroke: css("--fg-muted"), grid: { stroke: css("--grid"), width: 1 }, ticks: { show: false } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height: 260,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 60 }],
      series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false,
        points: { show: false } }))],
      hooks: { draw: [(u: uPlot) => drawRestarts(u, data.restarts)] },
    };
    const u = new uPlot(opts, [data.t, ...spec.data(data)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 300), height: 260 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [theme, spec]);

  useEffect(() => {
    plot.current?.setData([data.t, ...spec.data(data)] as uPlot.AlignedData);
  }, [data.version, data]);

  return (
    <section class="chart">
      <h3>{spec.title}</h3>
      <div ref={box} class="chart-canvas" data-points={data.t.length}
        data-restarts={data.restarts.length} />
    </section>
  );
}

export function Charts({ data, specs, theme }: { data: ChartData; specs: ChartSpec[]; theme: string }) {
  return (
    <div class="charts">
      {specs.map((s) => <Chart key={s.title} spec={s} data={data} theme={theme} />)}
    </div>
  );
}
