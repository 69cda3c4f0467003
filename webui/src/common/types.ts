// The JSON shapes of Locust 2.47's web API (reference: locust-web-dist.md §1.4-§1.8). Keys stay snake_case as
// they are on the wire; numbers may arrive as int or float, so every number is `number`.

/** One row of `stats` in `GET stats/requests` (StatsEntry.to_dict); percentile keys are dynamic. */
export interface StatRow {
  method: string;
  name: string;
  num_requests: number;
  num_failures: number;
  median_response_time: number;
  avg_response_time: number;
  min_response_time: number;
  max_response_time: number;
  avg_content_length: number;
  current_rps: number;
  current_fail_per_sec: number;
  total_rps?: number;
  total_fail_per_sec?: number;
  [percentile: string]: number | string | undefined;
}

export interface ErrorRow {
  error: string;
  method: string;
  name: string;
  occurrences: number;
  first_seen?: number | string | null;
  last_seen?: number | string | null;
}

export interface Worker {
  id: string;
  state: string;
  user_count: number;
  cpu_usage: number;
  memory_usage: number;
}

export interface StatsResponse {
  stats: StatRow[];
  errors: ErrorRow[];
  current_rps: number;
  current_fail_per_sec: number;
  total_rps: number;
  total_fail_per_sec: number;
  fail_ratio: number;
  current_response_time_percentiles: Record<string, number | null>;
  state: string;
  user_count: number;
  workers?: Worker[];
  worker_count?: number;
  total_avg_response_time?: number;
}

/** One delay of rlocust's `GET rlocust/generator` (ms): how late the generator itself was. */
export interface Delay {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  "p99.9": number;
  max: number;
}

/** rlocust's own lateness (docs/observability.md "Generator lateness"); real Locust has no such route. */
export interface GeneratorLateness {
  socket_wait_ms: Delay;
  response_handling_delay_ms: Delay;
  wait_lateness_ms: Delay;
}

export interface ExceptionRow {
  count: number;
  msg: string;
  nodes: string;
  traceback: string;
}

export interface TaskNode {
  ratio: number;
  tasks?: Record<string, TaskNode>;
}

export interface TasksResponse {
  per_class: Record<string, TaskNode>;
  total: Record<string, TaskNode>;
}

export interface LogsResponse {
  master: string[];
  workers: Record<string, string[]>;
}

/** One 5 s snapshot of the server's stats history (§1.8): `[time, value]` pairs plus `time`. */
export type HistoryPoint = Record<string, [string, number | null] | string>;

export interface ExtraOption {
  default_value: unknown;
  is_secret?: boolean;
  is_required?: boolean;
  help_text?: string;
  is_multiple?: boolean;
  choices?: string[] | null;
}

/** `templateArgs.users[Class]`, and what `POST user` sets (§1.3.7). */
export interface UserClassSettings {
  host?: string | null;
  weight?: number;
  fixed_count?: number;
  tasks?: string[];
}

/** `window.templateArgs` of the dashboard (§1.5). */
export interface IndexArgs {
  locustfile: string;
  state: string;
  is_distributed: boolean;
  user_count: number;
  version: string;
  host: string;
  history: HistoryPoint[];
  override_host_warning?: boolean;
  missing_host_warning?: boolean;
  is_host_required?: boolean;
  num_users: number | null;
  spawn_rate: number | null;
  run_time: number | null;
  worker_count: number;
  hide_common_options?: boolean | null;
  shape_use_common_options?: boolean | null;
  stats_history_enabled: boolean;
  extra_options: Record<string, ExtraOption>;
  show_userclass_picker: boolean;
  available_user_classes: string[];
  available_user_tasks?: Record<string, string[]>;
  users?: Record<string, UserClassSettings>;
  available_shape_classes: string[];
  percentiles_to_chart: number[];
  percentiles_to_statistics: number[];
  profile: string | null;
  /** rlocust's comparison with `--baseline` at page load (absent or null without one; not Locust's). */
  baseline?: Comparison | null;
  /** rlocust's capacity search: the form's "Capacity search" part and `GET search` (absent on Locust). */
  search_form?: boolean | null;
}

export interface ResponseTimeRow {
  name: string;
  method: string;
  [percentile: string]: number | string;
}

/** `window.templateArgs` of the HTML report (§1.7). */
export interface ReportArgs {
  is_report: true;
  requests_statistics: StatRow[];
  response_time_statistics: ResponseTimeRow[];
  failures_statistics: ErrorRow[];
  exceptions_statistics: ExceptionRow[];
  history: HistoryPoint[];
  tasks: TasksResponse;
  start_time: string;
  end_time: string;
  duration: string;
  host: string;
  locustfile: string;
  show_download_link: boolean;
  percentiles_to_chart: number[];
  profile: string | null;
  /** rlocust's open workload, when one ran. */
  arrivals?: Arrivals | null;
  /** rlocust's metric rows, when the run recorded any. */
  metrics?: MetricRow[] | null;
  /** rlocust's run parameters (absent in older reports). */
  run?: RunInfo | null;
  /** The comparison with `--baseline` (absent or null without one). */
  baseline?: Comparison | null;
  /** `rlocust-report compare`: the page shows only the comparison (no run statistics of its own). */
  comparison_only?: boolean;
  /** The capacity search (`--search`), when the run had one. */
  search?: Search | null;
}

/** A run's parameters (the report's `run`, a comparison side's `run`); null: not known. */
export interface RunInfo {
  locustfile?: string | null;
  host?: string | null;
  users?: number | null;
  spawn_rate?: number | null;
  run_time_s?: number | null;
  arrival_rate?: string | null;
  mode?: string | null;
  workers?: number | null;
  user_classes?: string[] | null;
  tags?: string[] | null;
  exclude_tags?: string[] | null;
  rlocust_version?: string | null;
  locust_version?: string | null;
  python_version?: string | null;
  /** Unix seconds. */
  started_at?: number | null;
  ended_at?: number | null;
  duration_s?: number | null;
}

/** One figure of a compared name: "regressed", "improved", "unchanged", "too few samples" or "not judged". */
export interface Figure {
  baseline: number | null;
  current: number | null;
  delta: number | null;
  delta_pct: number | null;
  verdict: string;
  limit: string | null;
}

export interface ComparisonRow {
  method: string;
  name: string;
  /** "compared", "new" or "vanished". */
  status: string;
  /** "regressed", "improved", "unchanged", "too few samples", "new" or "vanished". */
  verdict: string;
  /** `requests`, `rps`, `fail_ratio` (a fraction), `p50`, `p95`, `p99` (ms), … */
  figures: Record<string, Figure | undefined>;
}

export interface ComparisonSide {
  source: string | null;
  format: string;
  run: RunInfo | null;
}

/** `rlocust-comparison/1`: the report's `baseline`, the dashboard's `templateArgs.baseline` and `GET rlocust/baseline`. */
export interface Comparison {
  schema: string;
  baseline: ComparisonSide;
  current: ComparisonSide;
  limits: string[];
  min_tail_samples: number;
  counts: Record<string, number>;
  /** One per name, Aggregated last. */
  rows: ComparisonRow[];
  breaches: string[];
}

declare global {
  interface Window {
    templateArgs: IndexArgs | ReportArgs;
    theme?: string;
  }
}

/** One metric row (`GET rlocust/metrics`, the report's `metrics`): values in `unit`, never requests. */
export interface MetricRow {
  metric: string;
  name: string;
  unit: string;
  count: number;
  avg: number | null;
  min: number | null;
  max: number | null;
  /** Keys "50" … "100" (Locust's percentiles to report). */
  percentiles: Record<string, number> | null;
  /** The last 10 seconds' "50" and "95" (null without values then). */
  current: { "50": number | null; "95": number | null };
  /** The sum of the values (tokens for a row in tokens; absent from older servers). */
  sum?: number;
  /** A row in tokens: tokens per second over the run, and over the last seconds (null for other units). */
  per_second?: number | null;
  current_per_second?: number | null;
}

/** The metrics' history over the whole run (each metric over all names; one point every 5 s, bounded). */
export interface MetricHistory {
  metrics: { metric: string; unit: string }[];
  /** `values[i]`: metric i's [p50, p95, per second] (null where missing). */
  points: { time: number; values: (number | null)[][] }[];
}

/** `GET rlocust/metrics`. */
export interface MetricsResponse {
  metrics: MetricRow[];
  /** Absent from older servers (the charts are then kept from the polls). */
  history?: MetricHistory;
}

/** rlocust's open workload accounting (`GET rlocust/arrivals`'s `arrivals`, the report's `arrivals`). */
export interface Arrivals {
  schedule: string;
  intended: number;
  started: number;
  dropped: number;
  pending: number;
  dropped_ratio: number;
  current_intended_rate: number;
  current_started_rate: number;
  current_dropped_rate: number;
  average_started_rate: number;
  users_busy: number;
  users: number;
  max_users: number;
  start_lag_ms: { count: number; p50: number; p90: number; p99: number; "p99.9": number; max: number };
  elapsed_s: number;
}

/** `GET rlocust/arrivals`: the run's arrival-rate plan (the form's defaults) and the accounting. */
export interface ArrivalsResponse {
  plan: { arrival_rate: string; arrival_stages: string; max_users: number; initial_users: number } | null;
  arrivals: Arrivals | null;
  /** Arrivals are still being scheduled (false: `arrivals` is the stopped run's final accounting). */
  running?: boolean;
}

/** A capacity search's rule, as parsed from `--slo`. */
export interface SearchRule {
  rule: string;
  /** "p95", "avg", "fail_ratio", "ttft.p95", … */
  metric: string;
  op: string;
  limit: number;
  unit: string | null;
  /** A `NAME:` rule's name (null: the aggregate). */
  target: string | null;
}

/** A rule's figure in a probe's window. */
export interface SearchOutcome {
  rule: string;
  target: string | null;
  actual: number | null;
  unit: string | null;
  passed?: boolean;
}

/** One probe: a level held, warmed up and judged on its own window. */
export interface SearchProbe {
  index: number;
  offered: number;
  achieved: number | null;
  /** Requests per second. */
  throughput: number | null;
  mean_in_flight: number | null;
  goodput: number | null;
  goodput_share: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  requests: number;
  failures: number;
  fail_ratio: number | null;
  dropped: number;
  figures?: { label: string; value: number | null; unit: string | null }[] | null;
  /** "pass", "fail", "undecided", "generator-bound" or "interrupted". */
  verdict: string;
  bound_by: string | null;
  extended?: boolean;
  ended_early?: boolean;
  outcomes?: SearchOutcome[] | null;
}

/** `GET search`, the report's `search`, the summary JSON's `search` (one shape everywhere). */
export interface Search {
  /** "arrival-rate" or "users". */
  mode: string;
  /** "1/s" or "users". */
  unit: string;
  slo: string;
  rules: SearchRule[];
  settings?: Record<string, unknown> | null;
  /** "running", "finished" or "interrupted". */
  state: string;
  current: number | null;
  capacity: number | null;
  first_failing: { offered: number; index: number; verdict: string; breach: SearchOutcome | null } | null;
  ended_by: string;
  gate?: number | null;
  gate_passed?: boolean | null;
  probes: SearchProbe[];
}
