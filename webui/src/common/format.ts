// Small formatting helpers shared by the dashboard and the report.

/** Python's float repr for the percentile keys Locust writes (`0.95` → "0.95", `1` → "1.0"). */
export function pyFloat(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/** The key of a percentile column in a StatRow or in `current_response_time_percentiles`. */
export function percentileKey(p: number): string {
  return `response_time_percentile_${pyFloat(p)}`;
}

/** "95%ile" for 0.95, "99.9%ile" for 0.999. */
export function percentileLabel(p: number): string {
  return `${+(p * 100).toFixed(6)}%ile`;
}

/** A number for a table cell, rounded to at most `dp` decimals (6.0 → "6", 4.6101 → "4.61"). */
export function num(v: unknown, dp = 0): string {
  if (v === null || v === undefined || v === "") return "";
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  const f = 10 ** dp;
  return String(Math.round(n * f) / f);
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(2)} ${units[i]}`;
}

/** ErrorRow seen times: epoch seconds (API) or an ISO string (report); shown as local time. */
export function seen(v: number | string | null | undefined): string {
  if (v === null || v === undefined || v === "") return "";
  const d = typeof v === "number" ? new Date(v * 1000) : new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}

/** Seconds as Locust's run-time text ("1h20m", "25s"). */
export function timespan(s: number | null | undefined): string {
  if (!s) return "";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h ? h + "h" : ""}${m ? m + "m" : ""}${sec ? sec + "s" : ""}`;
}
