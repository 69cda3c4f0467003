// The HTML report: one self-contained page rendered from `window.templateArgs` (`is_report: true`, §1.7) and
// `window.theme`. It needs no network: everything it shows is in the template args.
import { render } from "preact";
import { useMemo } from "preact/hooks";
import "../style.css";
import type { ReportArgs, ResponseTimeRow } from "../common/types";
import { ChartData, Charts, chartSpecs } from "../common/charts";
import { Table } from "../common/table";
import { num } from "../common/format";
import { ExceptionsTable, FailuresTable, isTotal, Ratios, reportStatColumns, statKey } from "../common/views";
import { useTheme } from "../common/theme";
import { ArrivalsTable } from "../common/arrivals";
import { MetricsTable } from "../common/metrics";
import { ComparisonSection, RunParams } from "../common/baseline";
import { SearchView } from "../common/capacity";

function fmtTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function Report({ args }: { args: ReportArgs }) {
  const [theme, toggleTheme] = useTheme(window.theme);
  // `rlocust-report compare`: two stored results, no run of its own to show (app::report_cli)
  const only = args.comparison_only === true;
  document.title = only ? "rlocust Run Comparison"
    : args.profile ? `Locust Test Report - ${args.profile}` : "Locust Test Report";
  const percentiles = args.percentiles_to_chart ?? [];
  const chart = useMemo(() => ChartData.fromHistory(args.history, percentiles), []);
  const specs = useMemo(() => chartSpecs(percentiles), []);
  const rtRows = args.response_time_statistics ?? [];
  const rtKeys = rtRows.length
    ? Object.keys(rtRows[0]).filter((k) => k !== "name" && k !== "method").sort((a, b) => Number(a) - Number(b))
    : [];

  return (
    <>
      <header class="navbar">
        <div class="brand">rlocust<span class="ver">Test Report</span></div>
        <div class="buttons">
          {args.show_download_link ? (
            <a class="button primary" id="download-report" href={`?download=1&theme=${theme}`}>Download the Report</a>
          ) : null}
          <button class="icon" id="btn-theme" onClick={toggleTheme} title="Switch light/dark theme"
            aria-label="Switch light/dark theme">{theme === "dark" ? "☀" : "☾"}</button>
        </div>
      </header>
      <main class="report">
        <h1>{only ? "Run comparison" : "Locust Test Report"}</h1>
        {only ? null : (
          <dl class="summary">
            {args.profile ? <div><dt>Profile</dt><dd>{args.profile}</dd></div> : null}
            <div><dt>During</dt><dd id="during">{fmtTime(args.start_time)} – {fmtTime(args.end_time)} ({args.duration})</dd></div>
            <div><dt>Target Host</dt><dd>{args.host}</dd></div>
            <div><dt>Script</dt><dd>{args.locustfile}</dd></div>
          </dl>
        )}

        {args.run ? (
          <>
            <h2>Run parameters</h2>
            <RunParams run={args.run} />
          </>
        ) : null}

        {args.baseline ? <ComparisonSection c={args.baseline} run={args.run} /> : null}

        {only ? null : <>
        {args.search ? (
          <>
            <h2>Capacity search</h2>
            <SearchView s={args.search} theme={theme} />
          </>
        ) : null}

        {args.arrivals ? <ArrivalsTable a={args.arrivals} live={false} /> : null}

        {args.metrics?.length ? (
          <>
            <h2>Metrics</h2>
            <p class="note">Streams timed at the wire (ttft, itl, e2e, tpot, output tokens) and the locustfile's own
              metrics; values in each metric's unit, not requests.</p>
            <MetricsTable rows={args.metrics} />
          </>
        ) : null}

        <h2>Request Statistics</h2>
        <Table id="requests" columns={reportStatColumns()} rows={args.requests_statistics ?? []} rowKey={statKey}
          pinLast={isTotal} empty="No requests." />

        <h2>Response Time Statistics</h2>
        <Table<ResponseTimeRow> id="response-times" rows={rtRows} rowKey={(r) => `${r.method}\u0000${r.name}`}
          pinLast={(r) => r.name === "Aggregated" && r.method === ""} empty="No requests."
          columns={[
            { label: "Method", text: (r) => String(r.method) },
            { label: "Name", text: (r) => String(r.name), className: "name" },
            ...rtKeys.map((k) => ({
              label: `${+(Number(k) * 100).toFixed(6)}%ile (ms)`, text: (r: ResponseTimeRow) => num(r[k]),
              sort: (r: ResponseTimeRow) => Number(r[k] ?? 0), numeric: true,
            })),
          ]} />

        <h2>Failures Statistics</h2>
        <FailuresTable rows={args.failures_statistics ?? []} />

        {args.exceptions_statistics?.length ? (
          <>
            <h2>Exceptions Statistics</h2>
            <ExceptionsTable rows={args.exceptions_statistics} />
          </>
        ) : null}

        <h2>Charts</h2>
        {chart.t.length ? <Charts data={chart} specs={specs} theme={theme} /> : <p class="empty">No history.</p>}

        <h2>Final ratio</h2>
        <Ratios tasks={args.tasks} />
        </>}
      </main>
      <footer>Generated by rlocust</footer>
    </>
  );
}

const DEFAULTS: Partial<ReportArgs> = {
  requests_statistics: [], response_time_statistics: [], failures_statistics: [], exceptions_statistics: [],
  history: [], tasks: { per_class: {}, total: {} }, percentiles_to_chart: [0.5, 0.95], profile: null,
  start_time: "", end_time: "", duration: "", host: "", locustfile: "", show_download_link: false,
};
const given = (window.templateArgs ?? {}) as Partial<ReportArgs>;
const args = { ...DEFAULTS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null && v !== undefined)) };
render(<Report args={args as ReportArgs} />, document.getElementById("app")!);
