// The dashboard: boots from `window.templateArgs` as Locust's index.html provides it (§1.5) and polls Locust's
// API on Locust's schedule (§1.6): stats every 2 s while spawning/running, logs every 5 s, exceptions and task
// ratios every 5 s only while their tab is open, the worker count every 2 s while a master waits for workers.
// rlocust's own routes beside them (rlocust/generator, rlocust/arrivals, rlocust/metrics, rlocust/baseline, and
// `search` only when templateArgs.search_form says the server has the capacity search) are polled with the stats.
import { render } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import "../style.css";
import type { ExceptionRow, IndexArgs, LogsResponse, StatsResponse, TasksResponse } from "../common/types";
import { ChartData, Charts, chartSpecs } from "../common/charts";
import { Table } from "../common/table";
import { bytes, num, percentileKey } from "../common/format";
import { ExceptionsTable, FailuresTable, liveStatColumns, Ratios } from "../common/views";
import { useTheme } from "../common/theme";
import { getJson, getJsonAndHeaders, post, useJson, useOwnRoute, usePoll } from "./api";
import { SwarmForm } from "./form";
import { About } from "./about";
import { Dialog } from "./dialog";
import { isLateness, LagItem } from "./lag";
import { ArrivalsTable, isArrivalsResponse } from "../common/arrivals";
import { MetricSeries, MetricsTab, TokenThroughput, isMetricsResponse } from "../common/metrics";
import { StatsTab } from "./stats";
import { load, save } from "../common/store";
import { isComparison } from "../common/baseline";
import { isSearchReply, SearchView } from "../common/capacity";

const LIVE = new Set(["spawning", "running"]);
// Locust's UI polls only while spawning/running; a master passes through "stopping" (and a runner through
// "cleanup") on its way to "stopped", so polling goes on there too or the page would stay at STOPPING.
const POLLED = new Set([...LIVE, "stopping", "cleanup"]);
const LOG_ALERT = /WARNING|ERROR|CRITICAL/;
const LOG_SEEN_KEY = "logViewer";
/** Locust's reason for a disabled Start on a master without workers (its SwarmForm). */
export const NO_WORKERS = "You can't start a distributed test before at least one worker processes has connected";
/** Locust's reason for a disabled Edit while a LoadTestShape runs the test (its EditButton). */
export const SHAPE_EDIT = "Disabled for tests using LoadTestShape class";

type Tab = "stats" | "charts" | "capacity" | "metrics" | "failures" | "exceptions" | "ratios" | "downloads" | "logs" | "workers";
const TABS: [Tab, string][] = [
  ["stats", "Statistics"], ["charts", "Charts"], ["capacity", "Capacity"], ["metrics", "Metrics"], ["failures", "Failures"], ["exceptions", "Exceptions"],
  ["ratios", "Current Ratio"], ["downloads", "Download Data"], ["logs", "Logs"], ["workers", "Workers"],
];

function initialTab(): Tab {
  const t = new URLSearchParams(location.search).get("tab");
  return (TABS.find(([k]) => k === t)?.[0] ?? "stats") as Tab;
}

function App({ args }: { args: IndexArgs }) {
  const [theme, toggleTheme] = useTheme();
  const [state, setState] = useState(args.state);
  const [stats, setStats] = useState<StatsResponse | null>(null);
  const [tab, setTabState] = useState<Tab>(initialTab);
  const [dialog, setDialog] = useState<"edit" | "new" | "about" | null>(null);
  // A LoadTestShape sets the counts (Locust hides them, and disables Edit); with the class picker, picking a shape
  // class does the same unless the shape uses the common options.
  const [hideCommon, setHideCommon] = useState(!!args.hide_common_options);
  const [totalNames, setTotalNames] = useState<number | null>(null);
  const [workerCount, setWorkerCount] = useState(args.worker_count ?? 0);
  const [logSeen, setLogSeen] = useState(() => Number(load(LOG_SEEN_KEY)) || 0);
  const [notice, setNotice] = useState("");
  const [offline, setOffline] = useState("");
  const [form, setForm] = useState({
    users: args.num_users ?? 1, spawnRate: args.spawn_rate ?? 1, host: args.host ?? "",
  });
  const [host, setHost] = useState(args.host ?? "");
  const chart = useMemo(() => ChartData.fromHistory(args.history, args.percentiles_to_chart), []);
  const [, setChartVersion] = useState(chart.version);
  const swarmedAt = useRef(0);
  const stoppedAt = useRef(0);
  const live = LIVE.has(state);

  const setTab = (t: Tab) => {
    setTabState(t);
    const url = new URL(location.href);
    url.searchParams.set("tab", t);
    history.replaceState(null, "", url);
  };

  const fetchStats = async () => {
    let s: StatsResponse;
    try {
      let headers: Headers;
      [s, headers] = await getJsonAndHeaders<StatsResponse>("stats/requests");
      const names = Number(headers.get("x-rlocust-names") ?? NaN);
      setTotalNames(Number.isInteger(names) ? names : null);
      setOffline("");
    } catch (e) {
      setOffline(`Cannot reach the server (${e instanceof Error ? e.message : e}); retrying.`);
      throw e;
    }
    setStats(s);
    // The server memoizes this answer for 2 s: right after our own swarm a stale "ready"/"stopped" may come back,
    // and right after our own stop a stale "running".
    const now = Date.now();
    const stale = LIVE.has(s.state) ? now - stoppedAt.current < 4500 : now - swarmedAt.current < 4500;
    if (!stale) setState(s.state);
    if (LIVE.has(s.state) && !stale) {
      const pct = args.percentiles_to_chart.map((p) => s.current_response_time_percentiles?.[percentileKey(p)] ?? null);
      chart.push(Date.now() / 1000, s.current_rps, s.current_fail_per_sec, pct, s.user_count);
      setChartVersion(chart.version);
    }
    if (typeof s.worker_count === "number") setWorkerCount(s.worker_count);
  };
  const refetchSoon = () => {
    fetchStats().catch(() => {});
    setTimeout(() => fetchStats().catch(() => {}), 2200); // after the 2 s memo expires
  };

  const polled = POLLED.has(state);
  usePoll(fetchStats, 2000, polled);
  // rlocust's own lateness and open workload (arrival rate: the run's plan for the form, the accounting while one
  // runs), beside Locust's API
  const [lateness, setLateness] = useOwnRoute("rlocust/generator", isLateness, 4000, polled);
  const [open, , fetchArrivals] = useOwnRoute("rlocust/arrivals", isArrivalsResponse, 2000, polled);
  useEffect(() => { fetchArrivals(); }, [state]);
  // rlocust's metric rows (streams' ttft, itl, ...; a locustfile's own): the tab shows once there are any
  const metricSeries = useRef(new MetricSeries());
  const [metrics, , fetchMetrics] = useOwnRoute("rlocust/metrics", isMetricsResponse, 2000, polled);
  useEffect(() => { fetchMetrics(); }, [state]);
  useEffect(() => {
    // the server's history of the whole run (a point every 5 s), then, while running, this poll's point; from an
    // older server, the points of the polls only
    if (metrics?.history) metricSeries.current.load(metrics.history);
    if (metrics?.metrics.length && LIVE.has(state)) metricSeries.current.push(Date.now() / 1000, metrics.metrics);
  }, [metrics]);
  // rlocust's capacity search (`GET search`: null without one), asked only of a server that has it
  const [search, , fetchSearch] = useOwnRoute("search", isSearchReply, 2000, polled && !!args.search_form);
  useEffect(() => { if (args.search_form) fetchSearch(); }, [state]);
  // what it showed belongs to the test that stopped (a reset clears it on the server too)
  useEffect(() => { if (!polled) setLateness(null); }, [state]);
  useEffect(() => { if (!polled) fetchStats().catch(() => {}); }, []);
  const logs = useJson<LogsResponse>("logs", 5000, true, live);
  // rlocust's comparison with --baseline (templateArgs.baseline at load, then GET rlocust/baseline with the stats)
  const liveBaseline = useJson<unknown>("rlocust/baseline", 2000, !!args.baseline, polled);
  const baseline = isComparison(liveBaseline) ? liveBaseline : args.baseline;
  usePoll(async () => setWorkerCount((await getJson<{ worker_count: number }>("worker-count")).worker_count),
    2000, args.is_distributed && state === "ready");
  // the tabs' own data: polled while open and running, fetched once when opened otherwise
  const exceptions = useJson<{ exceptions: ExceptionRow[] }>("exceptions", 5000, tab === "exceptions", live)?.exceptions;
  const tasks = useJson<TasksResponse>("tasks", 5000, tab === "ratios", live);

  const alertLines = useMemo(() => {
    if (!logs) return 0;
    let n = logs.master.filter((l) => LOG_ALERT.test(l)).length;
    for (const lines of Object.values(logs.workers ?? {})) n += lines.filter((l) => LOG_ALERT.test(l)).length;
    return n;
  }, [logs]);
  useEffect(() => {
    if (tab !== "logs" || alertLines === logSeen) return;
    setLogSeen(alertLines);
    save(LOG_SEEN_KEY, String(alertLines));
  }, [tab, alertLines]);

  const started = (reply: { host?: string | null }, users: number, spawnRate: number, searching = false) => {
    swarmedAt.current = Date.now();
    stoppedAt.current = 0;
    if (dialog === "new" || state === "ready" || state === "stopped") {
      // a new test: its charts start at its start, from 0 (the server's history does the same)
      const now = Date.now() / 1000;
      chart.gap(now);
      chart.push(now, 0, 0, args.percentiles_to_chart.map(() => null), 0);
      setChartVersion(chart.version);
      setLateness(null);
    }
    setForm((f) => ({ ...f, users, spawnRate, host: reply.host ?? f.host }));
    if (reply.host !== undefined) setHost(reply.host ?? "");
    setDialog(null);
    setState("running");
    if (searching) {
      setTab("capacity");
      fetchSearch();
    }
  };
  const stop = async () => {
    try {
      await post("stop");
      setLateness(null);
      stoppedAt.current = Date.now();
      setState("stopped");
      refetchSoon();
    } catch (e) {
      setNotice(String(e));
    }
  };
  const reset = async () => {
    try {
      await post("stats/reset");
      setLateness(null);
      setTotalNames(null);
      refetchSoon();
    } catch (e) {
      setNotice(String(e));
    }
  };

  const statColumns = useMemo(() => liveStatColumns(args.percentiles_to_statistics ?? []), []);
  const specs = useMemo(() => chartSpecs(args.percentiles_to_chart ?? []), []);
  const tabs = TABS.filter(([k]) => (k !== "workers" || args.is_distributed) && (k !== "metrics" || !!metrics?.metrics.length)
    && (k !== "capacity" || !!search));
  const failPct = stats ? Math.round((stats.fail_ratio ?? 0) * 100) : 0;
  const users = stats?.user_count ?? args.user_count ?? 0;
  const noWorkers = args.is_distributed && !workerCount;
  // the start page's form, and the New and Edit dialogs'
  const swarmForm = (more: { edit?: boolean; onCancel?: () => void }) => (
    <SwarmForm args={args} current={form} onStarted={started} hideCommon={hideCommon} open={open}
      onShapeChange={(shape) => setHideCommon(shape !== "Default" && !args.shape_use_common_options)}
      disabledReason={noWorkers ? NO_WORKERS : ""} {...more} />
  );
  // Tabs move with the arrow keys, Home and End (the WAI-ARIA tabs pattern: one tab stop, the selected tab).
  const onTabKey = (e: KeyboardEvent) => {
    const i = tabs.findIndex(([k]) => k === tab);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const [k] = tabs[(to + tabs.length) % tabs.length];
    setTab(k);
    document.getElementById(`tab-${k}`)?.focus();
  };

  return (
    <>
      <header class="navbar">
        <div class="brand">rlocust<span class="ver">Locust {args.version} API</span></div>
        <dl class="status">
          <div><dt>Host</dt><dd id="nav-host" title={host}>{host || "—"}</dd></div>
          <div><dt>Status</dt><dd id="nav-state" class={`state-${state}`}>{state.toUpperCase()}</dd></div>
          <div><dt>Users</dt><dd id="nav-users">{users}</dd></div>
          {args.is_distributed ? <div><dt>Workers</dt><dd id="nav-workers">{workerCount}</dd></div> : null}
          <div><dt>RPS</dt><dd id="nav-rps">{num(Number(stats?.current_rps) || 0, 2)}</dd></div>
          <div><dt>Failures</dt><dd id="nav-fail">{failPct}%</dd></div>
          <LagItem l={lateness} users={users} rps={Number(stats?.current_rps) || 0} />
          {open?.arrivals ? (
            <div title="Iterations dropped because the most users allowed were all busy (open workload)">
              <dt>Dropped</dt><dd id="nav-dropped" class={open.arrivals.dropped > 0 ? "lag-some" : ""}>{open.arrivals.dropped}</dd>
            </div>
          ) : null}
        </dl>
        <div class="buttons">
          {state === "stopped" ? <button class="primary" id="btn-new" onClick={() => setDialog("new")}>New</button> : null}
          {live ? (
            <span title={hideCommon ? SHAPE_EDIT : undefined}>
              <button class="primary" id="btn-edit" disabled={hideCommon} onClick={() => setDialog("edit")}
                aria-describedby={hideCommon ? "edit-why" : undefined}>Edit</button>
              {hideCommon ? <span class="sr-only" id="edit-why">{SHAPE_EDIT}</span> : null}
            </span>
          ) : null}
          {live ? <button class="danger" id="btn-stop" onClick={stop}>Stop</button> : null}
          {state !== "ready" ? <button id="btn-reset" onClick={reset}>Reset</button> : null}
          <button class="icon" id="btn-theme" onClick={toggleTheme} title="Switch light/dark theme"
            aria-label="Switch light/dark theme">{theme === "dark" ? "☀" : "☾"}</button>
        </div>
      </header>
      {notice ? <p class="error banner" role="alert" onClick={() => setNotice("")}>{notice}</p> : null}
      {offline ? <p class="error banner" role="status" id="offline">{offline}</p> : null}
      {state === "ready" ? (
        <main class="start">
          {args.missing_host_warning ? (
            <p class="warning">No host is set: give one below, or set a host on your User classes.</p>
          ) : null}
          {swarmForm({})}
        </main>
      ) : (
        <main>
          <nav class="tabs" role="tablist" aria-label="Views" onKeyDown={onTabKey}>
            {tabs.map(([k, label]) => (
              <button role="tab" aria-selected={tab === k} class={tab === k ? "active" : ""} id={`tab-${k}`}
                tabIndex={tab === k ? 0 : -1} aria-controls="panel" onClick={() => setTab(k)}>
                {label}
                {k === "failures" && stats?.errors.length ? <span class="badge">{stats.errors.length}</span> : null}
                {k === "logs" && alertLines > logSeen ? <span class="badge alert">{alertLines - logSeen}</span> : null}
              </button>
            ))}
          </nav>
          <section class="panel" id="panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
            {tab === "stats" && open?.arrivals ? <ArrivalsTable a={open.arrivals} live={open.running ?? LIVE.has(state)} /> : null}
            {tab === "stats" ? <StatsTab rows={stats?.stats ?? []} columns={statColumns} totalNames={totalNames}
              baseline={baseline} /> : null}
            {tab === "stats" && metrics?.metrics.length ? <TokenThroughput rows={metrics.metrics} /> : null}
            {tab === "charts" ? <Charts data={chart} specs={specs} theme={theme} /> : null}
            {tab === "capacity" && search ? <SearchView s={search} theme={theme} /> : null}
            {tab === "metrics" ? <MetricsTab rows={metrics?.metrics ?? []} series={metricSeries.current} theme={theme} /> : null}
            {tab === "failures" ? <FailuresTable rows={stats?.errors ?? []} /> : null}
            {tab === "exceptions" ? (exceptions ? <ExceptionsTable rows={exceptions} /> : <p class="empty">Loading…</p>) : null}
            {tab === "ratios" ? <Ratios tasks={tasks} /> : null}
            {tab === "downloads" ? <Downloads historyEnabled={args.stats_history_enabled} theme={theme} /> : null}
            {tab === "logs" ? <Logs logs={logs} /> : null}
            {tab === "workers" ? <Workers stats={stats} /> : null}
          </section>
        </main>
      )}
      {dialog === "edit" || dialog === "new" ? (
        <Dialog label={dialog === "edit" ? "Edit running load test" : "Start new load test"} onClose={() => setDialog(null)}>
          {swarmForm({ edit: dialog === "edit", onCancel: () => setDialog(null) })}
        </Dialog>
      ) : null}
      {dialog === "about" ? <About locustVersion={args.version} onClose={() => setDialog(null)} /> : null}
      <footer>
        rlocust · {args.locustfile} · <button type="button" class="link" id="btn-about" onClick={() => setDialog("about")}>About</button>
      </footer>
    </>
  );
}

function Downloads({ historyEnabled, theme }: { historyEnabled: boolean; theme: string }) {
  const links: [string, string][] = [
    ["stats/requests/csv", "Download requests CSV"],
    ...(historyEnabled ? [["stats/requests_full_history/csv", "Download full request statistics history CSV"] as [string, string]] : []),
    ["stats/failures/csv", "Download failures CSV"],
    ["exceptions/csv", "Download exceptions CSV"],
  ];
  return (
    <ul class="downloads">
      {links.map(([href, label]) => <li><a href={`./${href}`}>{label}</a></li>)}
      <li><a href={`./stats/report?theme=${theme}`} target="_blank" rel="noopener">Download the Report</a></li>
    </ul>
  );
}

/** A log box opens at its newest line and follows new ones, unless the reader scrolled up to read older ones. */
function LogLines({ lines }: { lines: string[] }) {
  const box = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  const onScroll = () => {
    const el = box.current;
    if (el) atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return (
    <pre class="logs" ref={box} onScroll={onScroll} tabIndex={0}>
      {lines.map((l) => {
        const m = /\/(WARNING|ERROR|CRITICAL)\//.exec(l) ?? /(WARNING|ERROR|CRITICAL)/.exec(l);
        return <div class={m ? `log-${m[1].toLowerCase()}` : undefined}>{l}</div>;
      })}
    </pre>
  );
}

function Logs({ logs }: { logs: LogsResponse | null }) {
  if (!logs) return <p class="empty">Loading…</p>;
  const workers = Object.entries(logs.workers ?? {});
  return (
    <div>
      <h3>Master</h3>
      {logs.master.length ? <LogLines lines={logs.master} /> : <p class="empty">No logs.</p>}
      {workers.map(([id, lines]) => (
        <>
          <h3>Worker {id}</h3>
          <LogLines lines={lines} />
        </>
      ))}
    </div>
  );
}

/** The workers: a line with how many are in each state, then the table, windowed (a fleet has thousands). */
function Workers({ stats }: { stats: StatsResponse | null }) {
  const rows = stats?.workers ?? [];
  const byState = new Map<string, number>();
  for (const w of rows) byState.set(w.state, (byState.get(w.state) ?? 0) + 1);
  const summary = [...byState.entries()].sort(([a], [b]) => a.localeCompare(b))
    .map(([state, n]) => `${n.toLocaleString("en-US")} ${state}`).join(", ");
  return (
    <>
      {rows.length ? <p id="workers-summary">{rows.length.toLocaleString("en-US")} workers: {summary}</p> : null}
      <Table id="workers" rows={rows} rowKey={(w) => w.id} empty="No workers." windowed={rows.length > 200}
      columns={[
        { label: "Worker", text: (w) => w.id },
        { label: "State", text: (w) => w.state },
        { label: "# users", text: (w) => String(w.user_count), sort: (w) => w.user_count, numeric: true },
        { label: "CPU usage", text: (w) => `${num(w.cpu_usage, 1)}%`, sort: (w) => w.cpu_usage, numeric: true },
        { label: "Memory usage", text: (w) => bytes(w.memory_usage), sort: (w) => w.memory_usage, numeric: true },
      ]} />
    </>
  );
}

// Locust's defaults for anything a server leaves out, so a partial templateArgs still boots.
const DEFAULTS: Partial<IndexArgs> = {
  state: "ready", is_distributed: false, user_count: 0, version: "", host: "", history: [], worker_count: 0,
  stats_history_enabled: false, extra_options: {}, show_userclass_picker: false, available_user_classes: [],
  available_shape_classes: [], percentiles_to_chart: [0.5, 0.95], percentiles_to_statistics: [0.95, 0.99],
  num_users: null, spawn_rate: null, run_time: null, profile: null, locustfile: "",
};
const given = (window.templateArgs ?? {}) as Partial<IndexArgs>;
const args = { ...DEFAULTS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null && v !== undefined)) };
render(<App args={args as IndexArgs} />, document.getElementById("app")!);
