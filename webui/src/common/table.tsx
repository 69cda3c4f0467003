// A plain sortable table that stays fast with thousands of rows:
// - every row's cells are formatted to strings first, and a row re-renders only when one of its strings changed;
// - with `windowed`, only the rows in view (plus a margin) are in the DOM, at a fixed row height, in a fixed-layout
//   table, so a poll that changes all of 1,000 rows costs ~40 rows of DOM and layout.
// A `pinLast` row (Locust's Aggregated) stays at the bottom whatever the sort, and in view (sticky).
import { Component } from "preact";
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";

export interface Column<R> {
  label: string;
  /** The text of the cell. */
  text: (row: R) => string;
  /** The value sorted on (defaults to the text). */
  sort?: (row: R) => number | string;
  numeric?: boolean;
  className?: string;
  /** Width in px in a windowed (fixed-layout) table; columns without one share the rest. */
  width?: number;
}

/** Must match `.table-wrap.windowed td` in style.css. */
export const ROW_HEIGHT = 33;
const MARGIN_ROWS = 12;

interface RowProps {
  cells: string[];
  numeric: boolean[];
  classes: (string | undefined)[];
  extraClass?: string;
  verdict?: string;
}

class Row extends Component<RowProps> {
  shouldComponentUpdate(next: RowProps) {
    const a = this.props.cells;
    const b = next.cells;
    if (a.length !== b.length || this.props.extraClass !== next.extraClass || this.props.verdict !== next.verdict) return true;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
    return false;
  }

  render() {
    const { cells, numeric, classes, extraClass, verdict } = this.props;
    return (
      <tr class={extraClass} data-verdict={verdict}>
        {cells.map((c, i) => (
          <td class={(numeric[i] ? "num " : "") + (classes[i] ?? "")} title={classes[i] ? c : undefined}>{c}</td>
        ))}
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
  /** The row's `data-verdict` (a run compared with a baseline). */
  verdict?: (row: R) => string | undefined;
  id?: string;
  windowed?: boolean;
}) {
  const { columns, rows, rowKey, pinLast, windowed } = props;
  const [sort, setSort] = useState<{ label: string; dir: 1 | -1 } | null>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });

  useEffect(() => {
    const el = wrap.current;
    if (!windowed || !el) return;
    let frame = 0;
    const measure = () => {
      frame = 0;
      setView({ top: el.scrollTop, height: el.clientHeight || 800 });
    };
    const onScroll = () => { if (!frame) frame = requestAnimationFrame(measure); };
    measure();
    el.addEventListener("scroll", onScroll, { passive: true });
    const ro = new ResizeObserver(onScroll);
    ro.observe(el);
    return () => {
      el.removeEventListener("scroll", onScroll);
      ro.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [windowed]);

  const [body, pinned] = useMemo(() => {
    const b = pinLast ? rows.filter((r) => !pinLast(r)) : rows.slice();
    const p = pinLast ? rows.filter(pinLast) : [];
    const col = sort && columns.find((c) => c.label === sort.label);
    if (sort && col) {
      const val = col.sort ?? col.text;
      b.sort((x0, y0) => {
        const x = val(x0);
        const y = val(y0);
        const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return c * sort.dir;
      });
    }
    return [b, p];
  }, [rows, sort, columns]);

  let first = 0;
  let last = body.length;
  if (windowed) {
    first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - MARGIN_ROWS);
    last = Math.min(body.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + MARGIN_ROWS);
  }

  const numeric = columns.map((c) => !!c.numeric);
  const classes = columns.map((c) => c.className);
  const clickHeader = (c: Column<R>) => {
    const first = c.numeric ? -1 : 1;
    if (!sort || sort.label !== c.label) setSort({ label: c.label, dir: first });
    else if (sort.dir === first) setSort({ label: c.label, dir: sort.dir === 1 ? -1 : 1 });
    else setSort(null);
  };
  const fixedWidth = columns.reduce((s, c) => s + (c.width ?? 0), 0);
  const row = (r: R, i: number, pin: boolean) => (
    <Row key={rowKey(r)} cells={columns.map((c) => c.text(r))} numeric={numeric} classes={classes} verdict={props.verdict?.(r)}
      extraClass={pin ? "total" : [(i & 1) ? "odd" : "", props.rowClass?.(r) ?? ""].join(" ").trim() || undefined} />
  );

  return (
    <div class={windowed ? "table-wrap windowed" : "table-wrap"} ref={wrap}>
      <table id={props.id} style={windowed ? { minWidth: `${fixedWidth + 200}px` } : undefined}>
        {windowed ? <colgroup>{columns.map((c) => <col style={c.width ? { width: `${c.width}px` } : undefined} />)}</colgroup> : null}
        <thead>
          <tr>
            {columns.map((c) => {
              const dir = sort?.label === c.label ? sort.dir : 0;
              return (
                <th class={c.numeric ? "num" : ""} aria-sort={dir ? (dir === 1 ? "ascending" : "descending") : undefined}>
                  <button type="button" class="sort" onClick={() => clickHeader(c)}>
                    {c.label}
                    {dir ? <span aria-hidden="true">{dir === 1 ? " ▲" : " ▼"}</span> : null}
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {first > 0 ? <tr class="spacer" style={{ height: `${first * ROW_HEIGHT}px` }} /> : null}
          {body.slice(first, last).map((r, j) => row(r, first + j, false))}
          {last < body.length ? <tr class="spacer" style={{ height: `${(body.length - last) * ROW_HEIGHT}px` }} /> : null}
          {pinned.map((r, j) => row(r, j, true))}
        </tbody>
      </table>
      {rows.length === 0 && props.empty ? <p class="empty">{props.empty}</p> : null}
    </div>
  );
}
