// rlocust's metric rows (issue 40): a stream's time to first token (`ttft`), gaps between tokens (`itl`), end to
// end time (`e2e`), time per output token (`tpot`), output tokens, and a locustfile's own metrics (`rlocust.metric`),
// keyed (metric, name), never counted as requests. The dashboard's Metrics tab (a table, and each metric's p50 and
// p95 over the last 10 seconds as a chart) and the report's section. Shown only when the run recorded metrics (the
// server sends none otherwise; real Locust has none).
import { Table } from "./table";
import { ChartData, Charts } from "./charts";
import type { ChartSpec } from "./charts";
import type { MetricRow, MetricsResponse } from "./types";
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
      ]} />
  );
}

/** rlocust's shape of `GET rlocust/metrics` (anything else: a proxy's or a locustfile's own route of that name). */
export function isMetricsResponse(x: unknown): x is MetricsResponse {
  const o = x as Record<string, unknown> | null;
  return !!o && typeof o === "object" && Array.isArray(o.metrics);
}

/** The most metrics charted (two series each: p50 and p95 of the last 10 seconds, over all names). */
const MAX_CHARTED = 8;

/** Each metric's p50 and p95 over time, kept client-side from the polls (as Locust's own charts are). */
export class MetricSeries {
  names: string[] = [];
  units: string[] = [];
  data = new ChartData(new Array(MAX_CHARTED * 2).fill(0.5));

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
      pct.push(r?.current?.["50"] ?? null, r?.current?.["95"] ?? null);
    }
    this.data.push(t, null, null, pct, null);
  }

  specs(): ChartSpec[] {
    return this.names.map((name, i) => ({
      title: `${name} (${this.units[i] || "value"})`,
      dp: 2,
      series: [{ label: "50%", color: "#7c5cff" }, { label: "95%", color: "#e69b00" }],
      data: (d: ChartData) => [d.pct[2 * i], d.pct[2 * i + 1]],
    }));
  }
}

export function MetricsTab({ rows, series, theme }: { rows: MetricRow[]; series: MetricSeries; theme: string }) {
  const specs = series.specs();
  return (
    <section class="metrics" aria-label="Metrics">
      <p class="note">Timed by the engine as the bytes arrived (streams), or recorded by the locustfile; values are
        not requests. Charts: each metric over all names, the last 10 seconds.</p>
      <MetricsTable rows={rows} />
      {specs.length ? <Charts key={specs.map((s) => s.title).join("|")} data={series.data} specs={specs} theme={theme} /> : null}
    </section>
  );
}
