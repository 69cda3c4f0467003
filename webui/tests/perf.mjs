// Responsiveness check: the built dashboard with 1,000 request names at 10,000 users.
//
//   node tests/perf.mjs            (needs only dist/ and /usr/bin/chromium; no Locust)
//
// Then a master with 10,000 workers: the Workers tab (windowed, its state summary) over ~10 s of polls.
//
// A fake API (this file) answers stats/requests with 1,000 entries whose numbers ALL change on every poll (the
// worst case) and boots the page with 5,000 history snapshots. Headless Chromium polls it for ~20 s on the
// Statistics tab and ~10 s on the Charts tab; the browser's own counters (CDP Performance.getMetrics) give the
// main-thread time per poll. Fails when a poll costs more than 100 ms of main-thread time, the table is not
// windowed, or the chart series is not bounded.
import { chromium } from "playwright-core";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fillIndex } from "../scripts/template.mjs";

const webui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// DIST=/path/to/dist measures another build (e.g. main's, to compare).
const dist = resolve(process.env.DIST || join(webui, "dist"));
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const NAMES = 1000;
const USERS = 10000;
const HISTORY = 5000;
const MAX_POINTS = 2000; // src/common/charts.tsx
const hardStop = setTimeout(() => { console.error("perf: 180 s limit"); process.exit(2); }, 180_000);

let poll = 0;
function stats() {
  poll++;
  const rows = [];
  for (let i = 0; i < NAMES; i++) {
    const n = 1000 * poll + i * 7 + poll;
    rows.push({
      method: i % 5 ? "GET" : "POST", name: `/api/v1/resource/${String(i).padStart(4, "0")}`,
      num_requests: n, num_failures: i % 10 ? 0 : poll, median_response_time: 20 + (i + poll) % 30,
      avg_response_time: 25.5 + ((i * poll) % 100) / 7, min_response_time: 1.0, max_response_time: 300.0 + poll,
      avg_content_length: 512.0, current_rps: 10 + ((i + poll) % 20) / 3, current_fail_per_sec: i % 10 ? 0 : 0.5,
      "response_time_percentile_0.95": 80 + (i + poll) % 40, "response_time_percentile_0.99": 150 + (i + poll) % 60,
    });
  }
  rows.sort((a, b) => (a.name < b.name ? -1 : 1));
  rows.push({ ...rows[0], method: "", name: "Aggregated", num_requests: NAMES * 1000 * poll });
  return {
    stats: rows, errors: [], current_rps: 12345.6 + poll, current_fail_per_sec: 12.5, total_rps: 12000,
    total_fail_per_sec: 12, fail_ratio: 0.001, state: "running", user_count: USERS,
    current_response_time_percentiles: { "response_time_percentile_0.5": 20, "response_time_percentile_0.95": 90 },
  };
}

const WORKERS = 10000;
let fleet = false;
function fleetStats() {
  const doc = stats();
  const workers = [];
  for (let i = 0; i < WORKERS; i++) {
    workers.push({ id: `pod-${i % 100}_${String(i).padStart(32, "0")}`, state: i % 1000 ? "running" : "missing",
      user_count: i % 1000 ? 10 : 0, cpu_usage: (i + poll) % 90, memory_usage: 50_000_000 + i });
  }
  return { ...doc, workers, worker_count: WORKERS - WORKERS / 1000 };
}

function args() {
  const t0 = Date.parse("2026-11-22T00:00:00Z");
  const history = [];
  for (let i = 0; i < HISTORY; i++) {
    const t = new Date(t0 + i * 5000).toISOString().replace(/\.\d+Z$/, "Z");
    history.push({ time: t, current_rps: [t, 10000 + (i % 100)], current_fail_per_sec: [t, 10],
      "response_time_percentile_0.5": [t, 20], "response_time_percentile_0.95": [t, 90], user_count: [t, USERS] });
  }
  return {
    locustfile: "perf.py", state: "running", is_distributed: false, user_count: USERS, version: "2.47.0",
    host: "http://127.0.0.1:1", history, num_users: USERS, spawn_rate: 100, run_time: null, worker_count: 0,
    stats_history_enabled: false, tasks: "{}", extra_options: {}, show_userclass_picker: false,
    available_user_classes: ["U"], available_shape_classes: ["Default"], available_user_tasks: {}, users: {},
    percentiles_to_chart: [0.5, 0.95], percentiles_to_statistics: [0.95, 0.99], profile: null,
    is_host_required: false, missing_host_warning: false, override_host_warning: false,
    hide_common_options: null, shape_use_common_options: null,
  };
}

const index = fillIndex(readFileSync(join(dist, "index.html"), "utf8"), args());
const fleetIndex = fillIndex(readFileSync(join(dist, "index.html"), "utf8"),
  { ...args(), is_distributed: true, worker_count: WORKERS - WORKERS / 1000 });
const server = http.createServer((req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const json = (o) => { res.writeHead(200, { "Content-Type": "application/json" }); res.end(JSON.stringify(o)); };
  if (path === "/") { res.writeHead(200, { "Content-Type": "text/html" }); return res.end(fleet ? fleetIndex : index); }
  if (path.startsWith("/assets/")) {
    res.writeHead(200, { "Content-Type": path.endsWith(".js") ? "text/javascript" : "text/css" });
    return res.end(readFileSync(join(dist, path)));
  }
  if (path === "/stats/requests") return json(fleet ? fleetStats() : stats());
  if (path === "/logs") return json({ master: [], workers: {} });
  // every other route (rlocust/generator included) answers {}: the dashboard must keep working
  return json({});
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const profile = mkdtempSync(join(tmpdir(), "rlocust-perf-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, viewport: { width: 1400, height: 900 }, timeout: 30_000,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const started = Date.now();
let failed = 0;
let passed = 0;
const check = (ok, msg) => { if (ok) passed++; else failed++; console.log(`${ok ? "ok  " : "FAIL"} ${msg}`); };
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Performance.enable");
  const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics
    .map((m) => [m.name, m.value]));

  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector("#stats tr.total", { timeout: 20_000 });
  console.log(`     first render of ${NAMES} rows: ${Date.now() - t0} ms after navigation`);
  const inDom = await page.locator("#stats tbody tr:not(.spacer)").count();
  check(inDom > 10 && inDom < 100, `windowed: ${inDom} of ${NAMES + 1} rows in the DOM`);
  const heights = await page.locator("#stats tbody tr:not(.spacer)").evaluateAll((trs) =>
    [...new Set(trs.map((tr) => tr.getBoundingClientRect().height))]);
  check(heights.length === 1 && Math.abs(heights[0] - 33) < 0.5, `every row is 33 px high (${heights})`);
  await page.locator(".table-wrap.windowed").evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await page.waitForSelector("#stats td[title='/api/v1/resource/0999']", { timeout: 5000 });
  const total = await page.locator(".table-wrap.windowed").evaluate((el) => el.scrollHeight);
  check(Math.abs(total - 33 * (NAMES + 1) - 60) < 80, `scroll height matches ${NAMES + 1} rows (${total} px)`);
  await page.locator(".table-wrap.windowed").evaluate((el) => { el.scrollTop = 0; });

  for (const tab of ["stats", "charts"]) {
    if (tab === "charts") await page.click("#tab-charts");
    await page.waitForTimeout(1000);
    const before = await metrics();
    const polls0 = poll;
    await page.waitForTimeout(tab === "stats" ? 20_000 : 10_000);
    const after = await metrics();
    const polls = poll - polls0;
    const per = (k) => ((after[k] - before[k]) * 1000) / Math.max(polls, 1);
    console.log(`     ${tab}: ${polls} polls; per poll: task ${per("TaskDuration").toFixed(1)} ms, script ` +
      `${per("ScriptDuration").toFixed(1)} ms, layout ${per("LayoutDuration").toFixed(1)} ms, style ` +
      `${per("RecalcStyleDuration").toFixed(1)} ms`);
    check(polls >= (tab === "stats" ? 8 : 4), `${tab}: the dashboard kept polling every 2 s (${polls} polls)`);
    check(per("TaskDuration") < 100, `${tab}: main-thread time per poll under 100 ms`);
  }
  const points = Number(await page.locator(".chart-canvas").first().getAttribute("data-points"));
  check(points > 0 && points <= MAX_POINTS, `chart series bounded: ${points} points from ${HISTORY} history snapshots`);

  // Sorting 1,000 rows by a numeric column: the first click as the user sees it (Playwright's round trip
  // included), then five clicks timed in the page from the click to the next frame (median).
  await page.click("#tab-stats");
  await page.waitForSelector("#stats");
  const s0 = Date.now();
  await page.click("#stats th:nth-child(3)");
  await page.waitForSelector("#stats th[aria-sort]");
  const firstSort = Date.now() - s0;
  const sorts = [];
  for (let i = 0; i < 5; i++) {
    sorts.push(await page.evaluate((col) => new Promise((ok) => {
      const th = document.querySelectorAll("#stats th")[col];
      const target = th.querySelector("button") ?? th; // the header's sort button (a plain th before)
      const t = performance.now();
      target.click();
      requestAnimationFrame(() => setTimeout(() => ok(performance.now() - t)));
    }), i % 2 ? 2 : 4));
  }
  sorts.sort((a, b) => a - b);
  console.log(`     sort 1,000 rows: first click ${firstSort} ms; in-page click to next frame, median of 5: ` +
    `${sorts[2].toFixed(1)} ms (${sorts.map((x) => x.toFixed(0)).join(", ")})`);
  check(firstSort < 1000, `sort by # Requests: ${firstSort} ms`);
  await cdp.send("HeapProfiler.collectGarbage");
  const heap = (await metrics()).JSHeapUsedSize / 1e6;
  console.log(`     JS heap after GC: ${heap.toFixed(1)} MB`);
  check((await page.locator("#nav-lag").count()) === 0, "an API without rlocust's lateness shows no generator lag");
  const note = await page.locator("#stats-note").textContent();
  check(note.startsWith(`Showing ${NAMES} names; the API sends at most 500`), `an API that does not say how many names: "${note}"`);

  // A master with 10,000 workers: the Workers tab stays usable
  fleet = true;
  await page.goto(url);
  await page.click("#tab-workers");
  await page.waitForSelector("#workers tbody tr", { timeout: 20_000 });
  const summary = await page.locator("#workers-summary").textContent();
  check(summary === "10,000 workers: 10 missing, 9,990 running", `workers summary: "${summary}"`);
  const workerRows = await page.locator("#workers tbody tr:not(.spacer)").count();
  check(workerRows > 10 && workerRows < 100, `workers windowed: ${workerRows} of ${WORKERS} rows in the DOM`);
  await page.waitForTimeout(1000);
  const wBefore = await metrics();
  const wPolls0 = poll;
  await page.waitForTimeout(10_000);
  const wAfter = await metrics();
  const wPolls = poll - wPolls0;
  const wPer = ((wAfter.TaskDuration - wBefore.TaskDuration) * 1000) / Math.max(wPolls, 1);
  console.log(`     workers (${WORKERS}): ${wPolls} polls; per poll: task ${wPer.toFixed(1)} ms`);
  check(wPolls >= 4, `workers: the dashboard kept polling every 2 s (${wPolls} polls)`);
  check(wPer < 100, `workers: main-thread time per poll under 100 ms`);
  const ws0 = Date.now();
  await page.click("#workers th:nth-child(4)");
  await page.waitForSelector("#workers th[aria-sort]");
  const wSort = Date.now() - ws0;
  console.log(`     sort ${WORKERS} workers by CPU: ${wSort} ms`);
  check(wSort < 1000, `sort ${WORKERS} workers: ${wSort} ms`);
  check(errors.length === 0, `no JavaScript errors${errors.length ? ": " + errors.join("; ") : ""}`);
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  server.close();
  clearTimeout(hardStop);
  // the closing line every browser test prints (scripts/suite_guard.py reads it)
  console.log(`perf: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exitCode = failed ? 1 : 0;
}
