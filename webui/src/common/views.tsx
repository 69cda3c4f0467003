// Tables shared by the dashboard and the report: failures, exceptions, the task-ratio tree.
import type { ErrorRow, ExceptionRow, StatRow, TaskNode, TasksResponse } from "./types";
import { Column, Table } from "./table";
import { num, percentileKey, percentileLabel, seen } from "./format";

export const isTotal = (r: StatRow) => r.name === "Aggregated" && r.method === "";
export const statKey = (r: StatRow) => `${r.method}\u0000${r.name}`;

const n = (k: keyof StatRow | string, dp = 0): Column<StatRow> => ({
  label: "",
  text: (r) => num(r[k], dp),
  sort: (r) => Number(r[k] ?? 0),
  numeric: true,
  width: 88,
});

const col = (label: string, c: Column<StatRow>): Column<StatRow> => ({ ...c, label });

/** The dashboard's Statistics columns (§1.6), one percentile column per `percentiles_to_statistics`. */
export function liveStatColumns(percentiles: number[]): Column<StatRow>[] {
  return [
    { label: "Type", text: (r) => r.method, width: 70 },
    { label: "Name", text: (r) => r.name, className: "name" },
    col("# Requests", n("num_requests")),
    col("# Fails", n("num_failures")),
    col("Median (ms)", n("median_response_time")),
    ...percentiles.map((p) => col(`${percentileLabel(p)} (ms)`, n(percentileKey(p)))),
    col("Average (ms)", n("avg_response_time", 2)),
    col("Min (ms)", n("min_response_time")),
    col("Max (ms)", n("max_response_time")),
    col("Average size (bytes)", n("avg_content_length", 2)),
    col("Current RPS", n("current_rps", 2)),
    col("Current Failures/s", n("current_fail_per_sec", 2)),
  ];
}

/** The report's Request Statistics: whole-run figures (§1.7). */
export function reportStatColumns(): Column<StatRow>[] {
  return [
    { label: "Type", text: (r) => r.method },
    { label: "Name", text: (r) => r.name, className: "name" },
    col("# Requests", n("num_requests")),
    col("# Fails", n("num_failures")),
    col("Average (ms)", n("avg_response_time", 2)),
    col("Min (ms)", n("min_response_time")),
    col("Max (ms)", n("max_response_time")),
    col("Average size (bytes)", n("avg_content_length", 2)),
    col("RPS", n("total_rps", 2)),
    col("Failures/s", n("total_fail_per_sec", 2)),
  ];
}

export function FailuresTable({ rows }: { rows: ErrorRow[] }) {
  const columns: Column<ErrorRow>[] = [
    { label: "# Failures", text: (r) => String(r.occurrences), sort: (r) => r.occurrences, numeric: true },
    { label: "Method", text: (r) => r.method },
    { label: "Name", text: (r) => r.name, className: "name" },
    { label: "Message", text: (r) => r.error, className: "msg" },
    { label: "First Seen", text: (r) => seen(r.first_seen), sort: (r) => String(r.first_seen ?? "") },
    { label: "Last Seen", text: (r) => seen(r.last_seen), sort: (r) => String(r.last_seen ?? "") },
  ];
  return <Table id="failures" columns={columns} rows={rows} rowKey={(r) => `${r.method}\u0000${r.name}\u0000${r.error}`}
    empty="No failures." />;
}

export function ExceptionsTable({ rows }: { rows: ExceptionRow[] }) {
  if (!rows.length) return <p class="empty">No exceptions.</p>;
  return (
    <div class="table-wrap">
      <table id="exceptions">
        <thead>
          <tr><th class="num">Count</th><th>Message</th><th>Traceback</th><th>Nodes</th></tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.traceback}>
              <td class="num">{e.count}</td>
              <td class="msg">{e.msg}</td>
              <td><pre class="traceback">{e.traceback}</pre></td>
              <td>{e.nodes}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TaskTree({ tasks }: { tasks: Record<string, TaskNode> }) {
  return (
    <ul class="ratio">
      {Object.entries(tasks).map(([name, node]) => (
        <li key={name}>
          <span class="pct">{(node.ratio * 100).toFixed(1)}%</span> {name}
          {node.tasks && Object.keys(node.tasks).length ? <TaskTree tasks={node.tasks} /> : null}
        </li>
      ))}
    </ul>
  );
}

export function Ratios({ tasks }: { tasks: TasksResponse | null | undefined }) {
  if (!tasks || (!Object.keys(tasks.per_class ?? {}).length && !Object.keys(tasks.total ?? {}).length)) {
    return <p class="empty">No ratio data.</p>;
  }
  return (
    <div class="ratios">
      <section>
        <h3>Ratio per User class</h3>
        <TaskTree tasks={tasks.per_class} />
      </section>
      <section>
        <h3>Total ratio</h3>
        <TaskTree tasks={tasks.total} />
      </section>
    </div>
  );
}
