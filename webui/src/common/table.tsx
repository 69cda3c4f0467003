// A plain sortable table that stays fast with thousands of rows: every row's cells are formatted to strings
// first, and a row re-renders only when one of its strings changed (so a poll that changes 10 of 1,000 rows
// touches 10 rows of DOM). A `pinLast` row (Locust's Aggregated) stays at the bottom whatever the sort.
import { Component } from "preact";
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";

export interface Column<R> {
  label: string;
  /** The text of the cell. */
  text: (row: R) => string;
  /** The value sorted on (defaults to the text). */
  sort?: (row: R) => number | string;
  numeric?: boolean;
  className?: string;
}

interface RowProps {
  cells: string[];
  numeric: boolean[];
  classes: (string | undefined)[];
  extraClass?: string;
}

class Row extends Component<RowProps> {
  shouldComponentUpdate(next: RowProps) {
    const a = this.props.cells;
    const b = next.cells;
    if (a.length !== b.length || this.props.extraClass !== next.extraClass) return true;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
    return false;
  }

  render() {
    const { cells, numeric, classes, extraClass } = this.props;
    return (
      <tr class={extraClass}>
        {cells.map((c, i) => <td class={(numeric[i] ? "num " : "") + (classes[i] ?? "")}>{c}</td>)}
      </tr>
    );
  }
}

export function Table<R>(props: {
  columns: Column<R>[];
  rows: R[];
  rowKey: (row: R) => string;
  pinLast?: (row: R) => boolean;
  empty?: ComponentChildren;
  rowClass?: (row: R) => string | undefined;
  id?: string;
}) {
  const { columns, rows, rowKey, pinLast } = props;
  const [sort, setSort] = useState<{ col: number; dir: 1 | -1 } | null>(null);

  const ordered = useMemo(() => {
    if (!sort) return rows;
    const col = columns[sort.col];
    const val = col.sort ?? col.text;
    const body = pinLast ? rows.filter((r) => !pinLast(r)) : rows.slice();
    const pinned = pinLast ? rows.filter(pinLast) : [];
    body.sort((a, b) => {
      const x = val(a);
      const y = val(b);
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return c * sort.dir;
    });
    return body.concat(pinned);
  }, [rows, sort, columns]);

  const numeric = columns.map((c) => !!c.numeric);
  const classes = columns.map((c) => c.className);
  const clickHeader = (i: number) => {
    if (!sort || sort.col !== i) setSort({ col: i, dir: columns[i].numeric ? -1 : 1 });
    else if (sort.dir === (columns[i].numeric ? -1 : 1)) setSort({ col: i, dir: sort.dir === 1 ? -1 : 1 });
    else setSort(null);
  };

  return (
    <div class="table-wrap">
      <table id={props.id}>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th class={c.numeric ? "num" : ""} onClick={() => clickHeader(i)} title="Sort"
                aria-sort={sort?.col === i ? (sort.dir === 1 ? "ascending" : "descending") : undefined}>
                {c.label}
                {sort?.col === i ? (sort.dir === 1 ? " ▲" : " ▼") : ""}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {ordered.map((r) => (
            <Row key={rowKey(r)} cells={columns.map((c) => c.text(r))} numeric={numeric} classes={classes}
              extraClass={pinLast?.(r) ? "total" : props.rowClass?.(r)} />
          ))}
        </tbody>
      </table>
      {rows.length === 0 && props.empty ? <p class="empty">{props.empty}</p> : null}
    </div>
  );
}
