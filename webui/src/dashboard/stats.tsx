// The Statistics tab: the table of `stats/requests` with a filter by name, a column chooser (the choice kept in
// localStorage) and a note when the server sent only part of the names: Locust's API sends at most 500 rows plus
// Aggregated; rlocust also says how many there are (`X-Rlocust-Names` on the same response).
import { useMemo, useState } from "preact/hooks";
import type { Comparison, StatRow } from "../common/types";
import type { Column } from "../common/table";
import { Table } from "../common/table";
import { isTotal, statKey } from "../common/views";
import { load, save } from "../common/store";
import { p95Text, rowKey, summaryLine } from "../common/baseline";

/** Rows the API sends before Aggregated (Locust's `stats/requests` truncates there). */
export const MAX_API_ROWS = 500;
const HIDDEN_KEY = "rlocust.hiddenColumns";

function readHidden(): string[] {
  try {
    const v = JSON.parse(load(HIDDEN_KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((x) => typeof x === "string") : [];
  } catch {
    return [];
  }
}

function ColumnChooser({ columns, hidden, setHidden }: {
  columns: Column<StatRow>[];
  hidden: string[];
  setHidden: (h: string[]) => void;
}) {
  const toggle = (label: string) =>
    setHidden(hidden.includes(label) ? hidden.filter((h) => h !== label) : [...hidden, label]);
  return (
    <details class="columns" id="column-chooser">
      <summary>Columns</summary>
      <fieldset>
        <legend class="sr-only">Columns shown</legend>
        {columns.map((c) => (
          <label class="check">
            <input type="checkbox" checked={!hidden.includes(c.label)} data-column={c.label}
              disabled={c.label === "Name"} onChange={() => toggle(c.label)} /> {c.label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

export function StatsTab({ rows, columns: own, totalNames, baseline }: {
  rows: StatRow[];
  columns: Column<StatRow>[];
  /** How many names the server has (rlocust's header), or null when it does not say (Locust). */
  totalNames: number | null;
  /** rlocust's comparison with `--baseline`: a "vs baseline" column (p95) and each row's verdict. */
  baseline?: Comparison | null;
}) {
  const compared = useMemo(() => new Map(baseline?.rows.map((r) => [rowKey(r), r])), [baseline]);
  // "vs baseline" (the p95 delta) beside the percentiles, before the averages
  const columns = useMemo(() => {
    if (!baseline) return own;
    const at = own.findIndex((c) => c.label === "Average (ms)");
    const cols = own.slice();
    cols.splice(at < 0 ? cols.length : at, 0,
      { label: "vs baseline", text: (r) => p95Text(compared.get(statKey(r))), className: "verdict", width: 130 });
    return cols;
  }, [own, compared]);
  const [filter, setFilter] = useState("");
  const [hidden, setHiddenState] = useState(readHidden);
  const setHidden = (h: string[]) => {
    setHiddenState(h);
    save(HIDDEN_KEY, JSON.stringify(h));
  };
  const shown = useMemo(() => columns.filter((c) => !hidden.includes(c.label)), [columns, hidden]);
  const needle = filter.trim().toLowerCase();
  const visible = useMemo(
    () => (needle ? rows.filter((r) => isTotal(r) || r.name.toLowerCase().includes(needle)) : rows),
    [rows, needle],
  );
  const sent = rows.filter((r) => !isTotal(r)).length;
  const truncated = totalNames !== null ? totalNames > sent : sent >= MAX_API_ROWS;
  const matching = visible.length - (visible.some(isTotal) ? 1 : 0);

  return (
    <>
      {baseline ? <p id="baseline-note">{summaryLine(baseline)}</p> : null}
      <div class="toolbar">
        <label class="filter">
          <span class="sr-only">Filter by name</span>
          <input type="search" id="stats-filter" placeholder="Filter by name" value={filter}
            onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <span class="note" id="stats-note" role="status">
          {needle ? `${matching} of ${sent} names match. ` : ""}
          {truncated
            ? totalNames === null
              ? `Showing ${sent} names; the API sends at most ${MAX_API_ROWS} (the CSV has all).`
              : `Showing ${sent} of ${totalNames} names (the API sends ${MAX_API_ROWS}; the CSV has all).`
            : ""}
        </span>
        <ColumnChooser columns={columns} hidden={hidden} setHidden={setHidden} />
      </div>
      <Table id="stats" columns={shown} rows={visible} rowKey={statKey} pinLast={isTotal}
        empty={needle && rows.length ? "No name matches the filter." : "No requests yet."} windowed
        verdict={baseline ? (r) => compared.get(statKey(r))?.verdict : undefined} />
    </>
  );
}
