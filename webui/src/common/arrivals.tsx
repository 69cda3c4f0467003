// rlocust's open workload (an arrival rate, issue 31) in the dashboard and the HTML report: arrivals intended and
// iterations started, dropped iterations, users busy of the maximum, and how late iterations started. Shown only
// when an open workload ran (the server sends nothing otherwise; real Locust has no such data).
import type { Arrivals, ArrivalsResponse } from "./types";
import { num } from "./format";

function pct(v: number): string {
  return `${num(v * 100, 2)}%`;
}

/** A definition list of the accounting; `live`: the rates over the last seconds, else over the whole run. */
export function ArrivalsTable({ a, live }: { a: Arrivals; live: boolean }) {
  const rows: [string, string, string][] = [
    ["arr-schedule", "Arrival rate", a.schedule],
    ["arr-intended", "Arrivals intended", num(a.intended)],
    ["arr-started", "Iterations started", num(a.started)],
    ["arr-dropped", "Dropped iterations", `${num(a.dropped)} (${pct(a.dropped_ratio)})`],
    live
      ? ["arr-rate", "Started/s (intended/s)", `${num(a.current_started_rate, 2)} (${num(a.current_intended_rate, 2)})`]
      : ["arr-rate", "Started/s (average)", num(a.average_started_rate, 2)],
    ["arr-busy", "Users busy / users / max", `${num(a.users_busy)} / ${num(a.users)} / ${num(a.max_users)}`],
    ["arr-lag", "Start lag p50 / p99 / max (ms)",
      `${num(a.start_lag_ms.p50, 2)} / ${num(a.start_lag_ms.p99, 2)} / ${num(a.start_lag_ms.max, 2)}`],
  ];
  return (
    <section class="arrivals" aria-label="Arrivals (open workload)">
      <h3>Arrivals (open workload)</h3>
      <dl class="summary arrivals-list">
        {rows.map(([id, label, value]) => (
          <div><dt>{label}</dt><dd id={id} class={id === "arr-dropped" && a.dropped > 0 ? "lag-some" : ""}>{value}</dd></div>
        ))}
      </dl>
    </section>
  );
}

/** rlocust's shape (anything else: a proxy's or a locustfile's own route of that name). */
export function isArrivalsResponse(v: unknown): v is ArrivalsResponse {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o === "object" && "plan" in o && "arrivals" in o;
}
