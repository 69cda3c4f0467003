// rlocust's metric rows (issue 40): a stream's time to first token (`ttft`), gaps between tokens (`itl`), end to
// end time (`e2e`), time per output token (`tpot`), output and input tokens, and a locustfile's own metrics
// (`rlocust.metric`), keyed (metric, name), never counted as requests. The dashboard's Metrics tab (a table, and
// each metric's p50 and p95, each point over its last 10 seconds, through the whole run as the server keeps it) and
// the report's section; rows in tokens carry their sum and tokens per second (over the run and current), also shown
// on the Statistics tab (TokenThroughput). Shown only when the run recorded metrics (the server sends none
// otherwise; real Locust has none).
import { Table } from "./table";
import { ChartData, Charts } from "./charts";
import type { ChartSpec } from "./charts";
import type { MetricHistory, MetricRow, MetricsResponse } from "./types";
import { num } from "./format";

/** Up to three decimals: ms metrics are exact to µs, token counts to the unit. */
function v(x: number | null | undefined): string {
  return x == null ? "" : num(x, 3);
}

const PCTS: [string, string][] = [["50", "50%"], ["90", "90%"], ["95", "95%"], ["99", "99%"]];

export function MetricsTable({ rows }: { rows: MetricRow[] }) {
  return (
    <Table<MetricRow> id="metrics" rows={rows} rowKey={(r) => `${r.metric}\u0000${r.name}`}
      rowClass={(r) => (r.name === "Aggregated" ? "total" : undefined)}
      empty="No metrics."
      columns={[
        { label: "Metric", text: (r) => r.metric },
        { label: "Name", text: (r) => r.name },
        { label: "Unit", text: (r) => r.unit },
        { label: "# Values", text: (r) => String(r.count), sort: (r) => r.count, numeric: true },
        { label: "Average", text: (r) => v(r.avg), sort: (r) => r.avg ?? -1, numeric: true },
        { label: "Min", text: (r) => v(r.min), sort: (r) => r.min ?? -1, numeric: true },
        ...PCTS.map(([k, label]) => ({
          label, text: (r: MetricRow) => v(r.percentiles?.[k]), sort: (r: MetricRow) => r.percentiles?.[k] ?? -1,
          numeric: true,
        })),
        { label: "Max", text: (r) => v(r.max), sort: (r) => r.max ?? -1, numeric: true },
        { label: "Sum", text: (r) => v(r.sum), sort: (r) => r.sum ?? -1, numeric: true },
        { label: "Per s", text: (r) => rate(r.per_second), sort: (r) => r.per_second ?? -1, numeric: true },
        { label: "Current per s", text: (r) => rate(r.current_per_second), sort: (r) => r.current_per_second ?? -1,
          numeric: true },
      ]} />
  );
}

/** A rate (a row in tokens: tokens per second) with two decimals; empty for rows without one. */
function rate(x: number | null | undefined): string {
  return x == null ? "" : num(x, 2);
}

/** The Statistics tab's token throughput (rows in tokens, over all names): tokens per second over the run and
 * now, e.g. "output_tokens 1234.56/s (current 1300.00/s)"; nothing when the run has no such row. */
export function TokenThroughput({ rows }: { rows: MetricRow[] }) {
  const shown = rows.filter((r) => r.name === "Aggregated" && r.per_second != null);
  if (!shown.length) return null;
  return (
    <p class="note token-throughput" aria-label="Token throughput">
      Token throughput: {shown.map((r, i) => (
        <span key={r.metric}>{i ? "; " : ""}<b>{r.metric}</b> {rate(r.per_second)}/s (current {rate(r.current_per_second)}/s)</span>
      ))}
    </p>
  );
}

/** rlocust's shape of `GET rlocust/metrics` (anything else: a proxy's or a locustfile's own route of that name). */
export function isMetricsResponse(x: unknown): x is MetricsResponse {
  const o = x as Record<string, unknown> | null;
  return !!o && typeof o === "object" && Array.isArray(o.metrics);
}

/** The most metrics charted (three series each: p50 and p95 of the last 10 seconds, over all names, and for a
 * metric in tokens its current tokens per second). */
const MAX_CHARTED = 8;

/** Each metric's p50 and p95 (and tokens per second) over time: the server's history of the whole run, or kept
 * client-side from the polls when the server has none. */
export class MetricSeries {
  names: string[] = [];
  units: string[] = [];
  data = new ChartData(new Array(MAX_CHARTED * 3).fill(0.5));

  /** The whole run's history, as the server keeps it (replaces what was drawn). */
  load(h: MetricHistory) {
    this.names = h.metrics.slice(0, MAX_CHARTED).map((m) => m.metric);
    this.units = h.metrics.slice(0, MAX_CHARTED).map((m) => m.unit);
    const d = this.data;
    d.t = []; d.rps = []; d.fails = []; d.users = [];
    d.pct = d.pct.map(() => []);
    for (const p of h.points) {
      const pct: (number | null)[] = [];
      this.names.forEach((_, i) => {
        const v = p.values[i] ?? [];
        pct.push(v[0] ?? null, v[1] ?? null, v[2] ?? null);
      });
      d.push(p.time, null, null, pct, null);
    }
    d.version++;
  }

  push(t: number, rows: MetricRow[]) {
    const totals = rows.filter((r) => r.name === "Aggregated");
    for (const r of totals) {
      if (!this.names.includes(r.metric) && this.names.length < MAX_CHARTED) {
        this.names.push(r.metric);
        this.units.push(r.unit);
      }
    }
    const pct: (number | null)[] = [];
    for (const name of this.names) {
      const r = totals.find((x) => x.metric === name);
      pct.push(r?.current?.["50"] ?? null, r?.current?.["95"] ?? null, r?.current_per_second ?? null);
    }
    this.data.push(t, null, null, pct, null);
  }

  specs(): ChartSpec[] {
    const out: ChartSpec[] = [];
    this.names.forEach((name, i) => {
      out.push({
        title: `${name} (${this.units[i] || "value"})`,
        dp: 2,
        series: [{ label: "50%", color: "#7c5cff" }, { label: "95%", color: "#e69b00" }],
        data: (d: ChartData) => [d.pct[3 * i], d.pct[3 * i + 1]],
      });
      if (this.units[i] === "tokens") {
        out.push({
          title: `${name} per second`,
          dp: 2,
          series: [{ label: "per s", color: "#00a884" }],
          data: (d: ChartData) => [d.pct[3 * i + 2]],
        });
      }
    });
    return out;
  }
}

export function MetricsTab({ rows, series, theme }: { rows: MetricRow[]; series: MetricSeries; theme: string }) {
  const specs = series.specs();
  return (
    <section class="metrics" aria-label="Metrics">
      <p class="note">Timed by the engine as the bytes arrived (streams), or recorded by the locustfile; values are
        not requests. Charts: each metric over all names through the whole run (each point its last 10 seconds).</p>
      <MetricsTable rows={rows} />
      {specs.length ? <Charts key={specs.map((s) => s.title).join("|")} data={series.data} specs={specs} theme={theme} /> : null}
    </section>
  );
}
