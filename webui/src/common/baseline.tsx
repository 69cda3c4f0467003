// A run compared with a baseline (issue 42, `--baseline`): the report's "Compared with baseline" section (the
// sources, limits, verdict counts and breaches, a side-by-side table, p50/p95 bars as inline SVG so they print
// sharply, both runs' parameters) and its "Run parameters"; the dashboard's "vs baseline" column uses `p95Text`.
// The server sends the comparison (`rlocust-comparison/1`) as it judged it: nothing here judges anything.
import type { Comparison, ComparisonRow, ComparisonSide, Figure, RunInfo } from "./types";
import { num, timespan } from "./format";

const MINUS = "\u2212";

/** "+21.0", "−3.2", "0.0" (no sign once rounded to nothing); from 100 on without decimals. */
function signed(v: number, dp: number, unit = ""): string {
  const t = Math.abs(v).toFixed(Math.abs(v) < 100 ? dp : 0);
  return (+t ? (v > 0 ? "+" : MINUS) : "") + t + unit;
}

/** A verdict with a mark that also reads in black and white print. */
const MARK: Record<string, string> = { regressed: "▲", improved: "▼" };
export const marked = (v: string) => (MARK[v] ? `${MARK[v]} ${v}` : v);

export const rowKey = (r: { method: string; name: string }) => `${r.method}\u0000${r.name}`;

/** rlocust's shape of `GET rlocust/baseline` (anything else: a proxy's or a locustfile's route of that name). */
export function isComparison(v: unknown): v is Comparison {
  const o = v as Comparison | null;
  return !!o && typeof o === "object" && Array.isArray(o.rows) && !!o.counts;
}

/** The dashboard's "vs baseline" cell: the p95 delta in %, or why there is none. */
export function p95Text(r: ComparisonRow | undefined): string {
  if (!r) return "";
  if (r.status !== "compared") return r.status;
  const f = r.figures.p95;
  if (!f || f.verdict === "too few samples") return "too few samples";
  return f.delta_pct != null ? signed(f.delta_pct, 1, "%") : f.delta != null ? signed(f.delta, 1, " ms") : "";
}

/** "Compared with main-summary.json: 1 regressed, 0 improved". */
export const summaryLine = (c: Comparison) =>
  `Compared with ${c.baseline.source ?? "the baseline"}: ${c.counts.regressed ?? 0} regressed, ${c.counts.improved ?? 0} improved`;

const FIGS: [string, string][] = [
  ["rps", "Requests/s"], ["fail_ratio", "Failure ratio"], ["p50", "p50 (ms)"], ["p95", "p95 (ms)"], ["p99", "p99 (ms)"],
];

function val(k: string, v: number | null | undefined): string {
  return v == null ? "" : k === "fail_ratio" ? `${num(v * 100, 2)}%` : num(v, v >= 100 ? 0 : k === "rps" ? 2 : 1);
}

function delta(k: string, f: Figure): string {
  if (f.delta == null) return "";
  if (k === "fail_ratio") return signed(f.delta * 100, 2, "pt");
  return signed(f.delta, k === "rps" ? 2 : 1) + (f.delta_pct == null ? "" : ` (${signed(f.delta_pct, 1, "%")})`);
}

const when = (s: number | null | undefined) => (s == null ? null : new Date(s * 1000).toLocaleString());
const list = (v: string[] | null | undefined) => (v?.length ? v.join(", ") : null);

/** A run's parameters as [label, text], the unknown ones left out. */
export function runFields(r: RunInfo): [string, string][] {
  const f: [string, unknown][] = [
    ["Locustfile", r.locustfile], ["Host", r.host], ["Users", r.users], ["Spawn rate", r.spawn_rate],
    ["Run time", r.run_time_s == null ? null : timespan(r.run_time_s)], ["Arrival rate", r.arrival_rate],
    ["Mode", r.mode && (r.workers != null ? `${r.mode}, ${r.workers} workers` : r.mode)],
    ["User classes", list(r.user_classes)], ["Tags", list(r.tags)], ["Excluded tags", list(r.exclude_tags)],
    ["Started", when(r.started_at)], ["Ended", when(r.ended_at)],
    ["Duration", r.duration_s == null ? null : `${num(r.duration_s, 1)} s`],
    ["rlocust", r.rlocust_version], ["Locust", r.locust_version], ["Python", r.python_version],
  ];
  return f.filter(([, v]) => v != null && v !== "").map(([k, v]) => [k, String(v)]);
}

export function RunParams({ run }: { run: RunInfo }) {
  return (
    <dl class="summary params" id="run-params">
      {runFields(run).map(([k, v]) => <div><dt>{k}</dt><dd>{v}</dd></div>)}
    </dl>
  );
}

/** Both runs' parameters: parameter | baseline | this run (the differing ones in bold). */
function RunsTable({ base, cur }: { base: RunInfo; cur: RunInfo }) {
  const a = new Map(runFields(base));
  const b = new Map(runFields(cur));
  return (
    <div class="table-wrap">
      <table id="baseline-runs" class="plain">
        <thead><tr><th>Parameter</th><th>Baseline</th><th>This run</th></tr></thead>
        <tbody>
          {[...new Set([...a.keys(), ...b.keys()])].map((k) => (
            <tr class={a.get(k) !== b.get(k) ? "diff" : undefined}>
              <td>{k}</td><td class="name">{a.get(k) ?? "—"}</td><td class="name">{b.get(k) ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ComparisonTable({ c }: { c: Comparison }) {
  return (
    <div class="table-wrap" tabIndex={0}>
      <table id="baseline" class="cmp plain">
        <thead>
          <tr>
            <th rowSpan={2}>Method</th><th rowSpan={2}>Name</th>
            {FIGS.map(([, label]) => <th colSpan={3} class="grp">{label}</th>)}
            <th rowSpan={2}>Verdict</th>
          </tr>
          <tr>{FIGS.map(() => <><th class="num">base</th><th class="num">this</th><th class="num">Δ</th></>)}</tr>
        </thead>
        <tbody>
          {c.rows.map((r) => (
            <tr data-verdict={r.verdict} class={r.name === "Aggregated" && !r.method ? "total" : undefined}>
              <td>{r.method}</td>
              <td class="name">{r.name}</td>
              {FIGS.map(([k]) => {
                const f = r.figures[k];
                const v = f?.verdict;
                return (
                  <>
                    <td class="num grp" data-verdict={v}>{val(k, f?.baseline)}</td>
                    <td class="num" data-verdict={v}>{val(k, f?.current)}</td>
                    <td class="num" data-verdict={v}>
                      {f ? delta(k, f) : ""}{v && MARK[v] ? ` ${MARK[v]}` : ""}
                    </td>
                  </>
                );
              })}
              <td class="verdict">{marked(r.verdict)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const W = 720; // the SVG's user units; it scales to its box
const X0 = 64; // bars start
const BAR = W - X0 - 175; // the longest bar; the rest is room for the values

/** p50 (solid) inside p95 (light) for each compared name, baseline above this run, on one scale. */
function Bars({ rows }: { rows: ComparisonRow[] }) {
  const fig = (r: ComparisonRow, k: string, side: "baseline" | "current") => r.figures[k]?.[side] ?? 0;
  const max = Math.max(1e-9, ...rows.flatMap((r) => [fig(r, "p95", "baseline"), fig(r, "p95", "current")]));
  const H = 52;
  const bar = (r: ComparisonRow, side: "baseline" | "current", y: number) => {
    const p50 = fig(r, "p50", side);
    const p95 = fig(r, "p95", side);
    const v = r.figures.p95?.verdict ?? "";
    const cls = side === "baseline" ? "b" : `c ${v}`;
    return (
      <g class={cls}>
        <text x={X0 - 6} y={y + 10} text-anchor="end">{side === "baseline" ? "baseline" : "this run"}</text>
        <rect x={X0} y={y} width={(p95 / max) * BAR} height={12} opacity={0.4} />
        <rect x={X0} y={y} width={(p50 / max) * BAR} height={12} />
        <text x={X0 + (p95 / max) * BAR + 5} y={y + 10} class="val">
          {`p50 ${num(p50, 1)} · p95 ${num(p95, 1)} ms`}{side === "current" && MARK[v] ? ` ${MARK[v]}` : ""}
        </text>
      </g>
    );
  };
  return (
    <svg class="cmp-chart" id="baseline-chart" viewBox={`0 0 ${W} ${rows.length * H + 4}`} role="img"
      aria-label="p50 and p95 per name, baseline and this run">
      {rows.map((r, i) => {
        const y = i * H;
        const name = `${r.method} ${r.name}`.trim();
        return (
          <g>
            <title>{name}</title>
            <text x={0} y={y + 12} class="name">{name.length > 110 ? name.slice(0, 109) + "…" : name}</text>
            {bar(r, "baseline", y + 18)}
            {bar(r, "current", y + 33)}
          </g>
        );
      })}
    </svg>
  );
}

/** The bars show at most this many names (a chart must fit a printed page): regressed first, then by how much
 * their p95 moved; the Aggregated row last. The table has every name. */
const BAR_NAMES = 15;

function barRows(compared: ComparisonRow[]): ComparisonRow[] {
  const names = compared.filter((r) => !(r.method === "" && r.name === "Aggregated"));
  if (names.length <= BAR_NAMES) return compared;
  const moved = (r: ComparisonRow) => Math.abs(r.figures.p95?.delta_pct ?? 0);
  const rank = (r: ComparisonRow) => (r.verdict === "regressed" ? 0 : r.verdict === "improved" ? 1 : 2);
  const top = [...names].sort((a, b) => rank(a) - rank(b) || moved(b) - moved(a)).slice(0, BAR_NAMES);
  return [...top, ...compared.filter((r) => r.method === "" && r.name === "Aggregated")];
}

const side = (s: ComparisonSide) => (s.source ? `${s.source} (${s.format})` : s.format);

export function ComparisonSection({ c, run }: { c: Comparison; run?: RunInfo | null }) {
  const compared = c.rows.filter((r) => r.status === "compared");
  const cur = c.current.run ?? run;
  return (
    <section id="comparison" class="comparison">
      <h2>Compared with baseline</h2>
      <dl class="summary">
        <div><dt>Baseline</dt><dd id="cmp-baseline">{side(c.baseline)}</dd></div>
        <div><dt>This run</dt><dd>{side(c.current)}</dd></div>
        <div><dt>Limits</dt><dd>{c.limits.join(", ")} (percentiles: ≥ {c.min_tail_samples} samples each side)</dd></div>
        <div><dt>Verdicts</dt><dd id="cmp-counts">
          {Object.entries(c.counts).map(([k, n]) => `${n} ${k.replace(/_/g, " ")}`).join(", ")}</dd></div>
      </dl>
      <h3>Regressions</h3>
      {c.breaches.length
        ? <ul id="breaches" class="breaches">{c.breaches.map((b) => <li>▲ {b}</li>)}</ul>
        : <p id="breaches">No regressions.</p>}
      <ComparisonTable c={c} />
      <p class="note">Δ = this − base; ▲ regressed, ▼ improved (beyond limit and noise)</p>
      {compared.length ? (
        // one block, so a printed page never leaves the heading behind the chart
        <div class="cmp-bars">
          <h3>p50 (solid) and p95 (light), ms; grey: the baseline</h3>
          {barRows(compared).length < compared.length ? (
            <p class="note" id="bars-note">The {BAR_NAMES} names whose p95 changed most, regressions first, of{" "}
              {compared.length - 1}; the table above has every name.</p>
          ) : null}
          <Bars rows={barRows(compared)} />
        </div>
      ) : null}
      {c.baseline.run ? (
        <>
          <h3>Both runs' parameters</h3>
          <RunsTable base={c.baseline.run} cur={cur ?? {}} />
        </>
      ) : null}
    </section>
  );
}
