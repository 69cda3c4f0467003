// The three charts Locust shows (total RPS and failures/s, response-time percentiles, users), drawn with uPlot.
// `ChartData` is the bounded client-side series: seeded from the server's history (§1.8), appended by each stats
// poll, thinned when it grows past MAX_POINTS so a day-long run costs the same as a ten-minute one.
// Every y axis starts at 0; the legend shows the latest values unless the pointer is on the plot; dragging zooms
// the time axis (Reset zoom or a double click undoes it); each chart saves itself as a PNG (title and legend in it).
// `mountChart` and `axisStyle` are what every uPlot chart of the UI shares (the capacity search's too).
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef, useState } from "preact/hooks";
import type { HistoryPoint } from "./types";
import { num, percentileKey, percentileLabel } from "./format";
import { chartSize, trackChart } from "./print";

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

export function css(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

export interface ChartSpec {
  title: string;
  /** Decimals shown in the legend. */
  dp: number;
  series: { label: string; color: string }[];
  data: (d: ChartData) => (number | null)[][];
}

export function chartSpecs(percentiles: number[]): ChartSpec[] {
  return [
    {
      title: "Total Requests per Second",
      dp: 2,
      series: [{ label: "RPS", color: "#2e9d4f" }, { label: "Failures/s", color: "#d9413b" }],
      data: (d) => [d.rps, d.fails],
    },
    {
      title: "Response Times (ms)",
      dp: 0,
      series: percentiles.map((p, i) => ({ label: percentileLabel(p), color: PCT_COLORS[i % PCT_COLORS.length] })),
      data: (d) => d.pct,
    },
    {
      title: "Number of Users",
      dp: 0,
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

/** Every y axis from 0 to a round number above the data (1 when there is nothing above 0 yet). */
export const fromZero: uPlot.Range.Function = (_u, _min, max) =>
  [0, max > 0 && Number.isFinite(max) ? uPlot.rangeNum(0, max, 0.1, true)[1] : 1];

/** The index of each series' last value (the x series: the latest of them), for the legend at rest. */
function latestIdxs(u: uPlot): (number | null)[] {
  const idxs: (number | null)[] = [null];
  let newest: number | null = null;
  for (let s = 1; s < u.data.length; s++) {
    const d = u.data[s];
    let i = d.length - 1;
    while (i >= 0 && d[i] == null) i--;
    idxs.push(i >= 0 ? i : null);
    if (i >= 0 && (newest === null || i > newest)) newest = i;
  }
  idxs[0] = newest;
  return idxs;
}

/** Without the pointer on the plot the legend shows the latest values (uPlot's own would read "--"). */
function legendAtRest(u: uPlot) {
  if (u.cursor.idx == null) u.setLegend({ idxs: latestIdxs(u) }, false);
}

/** Whether the time axis shows less than all the data (a drag zoomed in). */
function isZoomed(u: uPlot): boolean {
  const t = u.data[0];
  const { min, max } = u.scales.x;
  return t.length > 1 && min != null && max != null && (min > t[0] + 1e-6 || max < t[t.length - 1] - 1e-6);
}

function fileName(title: string): string {
  return `${title.toLowerCase().replace(/\(ms\)/, "").trim().replace(/[^a-z0-9]+/g, "-")}.png`;
}

/** The chart as a PNG: its title, the plot as drawn (axes included) and the legend's values, on the panel colour. */
export function chartImage(u: uPlot, spec: ChartSpec): HTMLCanvasElement {
  const src = u.ctx.canvas;
  const r = src.width / Math.max(u.width, 1);
  const pad = 12 * r;
  const line = 22 * r;
  const out = document.createElement("canvas");
  out.width = src.width + 2 * pad;
  out.height = src.height + 2 * line + 2 * pad;
  const g = out.getContext("2d")!;
  g.fillStyle = css("--panel");
  g.fillRect(0, 0, out.width, out.height);
  g.textBaseline = "middle";
  g.fillStyle = css("--fg");
  g.font = `600 ${15 * r}px system-ui, sans-serif`;
  g.fillText(spec.title, pad, pad + line / 2);
  g.drawImage(src, pad, pad + line);
  g.font = `${13 * r}px system-ui, sans-serif`;
  let x = pad;
  const y = pad + line + src.height + line / 2;
  const values = u.legend.values ?? [];
  spec.series.forEach((s, i) => {
    g.fillStyle = s.color;
    g.fillRect(x, y - 5 * r, 10 * r, 10 * r);
    x += 14 * r;
    const v = (values[i + 1] as Record<string, string> | undefined)?._ ?? "--";
    const text = `${s.label}: ${v}`;
    g.fillStyle = css("--fg");
    g.fillText(text, x, y);
    x += g.measureText(text).width + 18 * r;
  });
  return out;
}

export function saveImage(u: uPlot, spec: ChartSpec) {
  chartImage(u, spec).toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = fileName(spec.title);
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }, "image/png");
}

/** The axes' look; its colours are read at each draw (printing redraws in the light theme's). */
export const axisStyle = () =>
  ({ stroke: () => css("--fg-muted"), grid: { stroke: () => css("--grid"), width: 1 }, ticks: { show: false } });

/**
 * Draws a chart in `el` at its box's width (at most the page's while printing), resized with the box, and exposed
 * as `el.uplot` for the browser tests; returns it and its undo.
 */
export function mountChart(opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData,
  el: HTMLElement): [uPlot, () => void] {
  const u = new uPlot({ ...chartSize(el), ...opts }, data, el);
  (el as unknown as { uplot: uPlot }).uplot = u;
  const ro = new ResizeObserver(() => u.setSize(chartSize(el)));
  ro.observe(el);
  const untrack = trackChart(u, el);
  return [u, () => {
    untrack();
    ro.disconnect();
    u.destroy();
  }];
}

function Chart({ spec, data, theme }: { spec: ChartSpec; data: ChartData; theme: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [zoomed, setZoomed] = useState(false);
  const zoomedRef = useRef(false);

  useEffect(() => {
    const el = box.current!;
    const axis = axisStyle();
    const value = (_u: uPlot, v: number | null) => (v == null ? "--" : num(v, spec.dp));
    const opts: Omit<uPlot.Options, "width" | "height"> = {
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { range: fromZero } },
      axes: [axis, { ...axis, size: 60 }],
      series: [{}, ...spec.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false,
        points: { show: false }, value }))],
      hooks: {
        draw: [(u: uPlot) => drawRestarts(u, data.restarts)],
        setLegend: [legendAtRest],
        ready: [legendAtRest],
        setScale: [(u: uPlot, key: string) => {
          if (key !== "x") return;
          zoomedRef.current = isZoomed(u);
          setZoomed(zoomedRef.current);
        }],
      },
    };
    const [u, undo] = mountChart(opts, [data.t, ...spec.data(data)] as uPlot.AlignedData, el);
    plot.current = u;
    return () => {
      undo();
      plot.current = null;
    };
  }, [theme, spec]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData([data.t, ...spec.data(data)] as uPlot.AlignedData, !zoomedRef.current);
    legendAtRest(u);
  }, [data.version, data]);

  const resetZoom = () => {
    const u = plot.current;
    if (u) u.setData(u.data, true);
  };

  return (
    <section class="chart">
      <div class="chart-head">
        <h3>{spec.title}</h3>
        {zoomed ? <button type="button" class="small reset-zoom" onClick={resetZoom}>Reset zoom</button> : null}
        <button type="button" class="small save-image" onClick={() => plot.current && saveImage(plot.current, spec)}
          title={`Save "${spec.title}" as a PNG image`}>Save image</button>
      </div>
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
