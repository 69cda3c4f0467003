// Two builds of the dashboard side by side under the same load (a benchmark, not a test):
//
//   node scripts/perf-compare.mjs /path/to/old/dist [/path/to/new/dist] [--rounds 3]
//
// Each build gets the fake API of tests/perf.mjs (1,000 request names at 10,000 users, every row changing on every
// poll, 5,000 history snapshots), and both pages run AT THE SAME TIME in one headless Chromium, so a busy machine
// slows both alike. Per round: the main-thread time per poll on the Statistics tab (20 s) and on the Charts tab
// (10 s) from the browser's own counters (CDP Performance.getMetrics), sorting 1,000 rows (clicks alternated between
// the builds, timed in the page from the click to the next frame), the first render (navigations alternated) and
// the JS heap after a GC. Prints each round and the medians; exits after 600 s at most.
import { chromium } from "playwright-core";
import http from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fillIndex } from "./template.mjs";

const webui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && all[i - 1] !== "--rounds");
const roundsAt = process.argv.indexOf("--rounds");
const ROUNDS = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 3;
if (!positional[0]) {
  console.error("usage: node scripts/perf-compare.mjs OLD_DIST [NEW_DIST] [--rounds N]");
  process.exit(2);
}
const builds = { old: resolve(positional[0]), new: resolve(positional[1] ?? join(webui, "dist")) };
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const NAMES = 1000;
setTimeout(() => { console.error("perf-compare: 600 s limit"); process.exit(2); }, 600_000).unref();

function args() {
  const t0 = Date.parse("2026-11-22T00:00:00Z");
  const history = [];
  for (let i = 0; i < 5000; i++) {
    const t = new Date(t0 + i * 5000).toISOString().replace(/\.\d+Z$/, "Z");
    history.push({ time: t, current_rps: [t, 10000 + (i % 100)], current_fail_per_sec: [t, 10],
      "response_time_percentile_0.5": [t, 20], "response_time_percentile_0.95": [t, 90], user_count: [t, 10000] });
  }
  return { locustfile: "perf.py", state: "running", is_distributed: false, user_count: 10000, version: "2.47.0",
    host: "http://127.0.0.1:1", history, percentiles_to_chart: [0.5, 0.95], percentiles_to_statistics: [0.95, 0.99] };
}

function server(dist) {
  let poll = 0;
  const stats = () => {
    poll++;
    const rows = [];
    for (let i = 0; i < NAMES; i++) {
      rows.push({ method: i % 5 ? "GET" : "POST", name: `/api/v1/resource/${String(i).padStart(4, "0")}`,
        num_requests: 1000 * poll + i * 7, num_failures: i % 10 ? 0 : poll, median_response_time: 20 + (i + poll) % 30,
        avg_response_time: 25.5 + ((i * poll) % 100) / 7, min_response_time: 1, max_response_time: 300 + poll,
        avg_content_length: 512, current_rps: 10 + ((i + poll) % 20) / 3, current_fail_per_sec: i % 10 ? 0 : 0.5,
        "response_time_percentile_0.95": 80 + (i + poll) % 40, "response_time_percentile_0.99": 150 + (i + poll) % 60 });
    }
    rows.push({ ...rows[0], method: "", name: "Aggregated", num_requests: NAMES * 1000 * poll });
    return { stats: rows, errors: [], current_rps: 12345.6 + poll, current_fail_per_sec: 12.5, total_rps: 12000,
      total_fail_per_sec: 12, fail_ratio: 0.001, state: "running", user_count: 10000,
      current_response_time_percentiles: { "response_time_percentile_0.5": 20, "response_time_percentile_0.95": 90 } };
  };
  const index = fillIndex(readFileSync(join(dist, "index.html"), "utf8"), args());
  const s = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const json = (o) => { res.writeHead(200, { "Content-Type": "application/json" }); res.end(JSON.stringify(o)); };
    if (path === "/") { res.writeHead(200, { "Content-Type": "text/html" }); return res.end(index); }
    if (path.startsWith("/assets/")) {
      res.writeHead(200, { "Content-Type": path.endsWith(".js") ? "text/javascript" : "text/css" });
      return res.end(readFileSync(join(dist, path)));
    }
    if (path === "/stats/requests") return json(stats());
    if (path === "/logs") return json({ master: [], workers: {} });
    return json({});
  });
  return new Promise((ok) => s.listen(0, "127.0.0.1", () => ok({ url: `http://127.0.0.1:${s.address().port}/`, s })));
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const servers = { old: await server(builds.old), new: await server(builds.new) };
const profile = mkdtempSync(join(tmpdir(), "rlocust-perf-compare-"));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true, viewport: { width: 1400, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"],
});
const results = { old: [], new: [] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const pages = {};
    const order = round % 2 ? ["old", "new"] : ["new", "old"];
    const first = {};
    for (const k of order) {
      const page = await ctx.newPage();
      const cdp = await ctx.newCDPSession(page);
      await cdp.send("Performance.enable");
      const t = Date.now();
      await page.goto(servers[k].url);
      await page.waitForSelector("#stats tr.total", { timeout: 30_000 });
      first[k] = Date.now() - t;
      pages[k] = { page, cdp };
    }
    const metrics = async (k) => Object.fromEntries((await pages[k].cdp.send("Performance.getMetrics")).metrics
      .map((m) => [m.name, m.value]));
    const r = { old: { first: first.old }, new: { first: first.new } };
    for (const [tab, ms] of [["stats", 20_000], ["charts", 10_000]]) {
      if (tab === "charts") for (const k of order) await pages[k].page.click("#tab-charts");
      await new Promise((ok) => setTimeout(ok, 1000));
      const before = { old: await metrics("old"), new: await metrics("new") };
      const polls0 = (await Promise.all(order.map((k) => pages[k].page.evaluate(() => performance.getEntriesByType("resource")
        .filter((e) => e.name.endsWith("/stats/requests")).length)))).reduce((o, n, i) => ({ ...o, [order[i]]: n }), {});
      await new Promise((ok) => setTimeout(ok, ms));
      for (const k of order) {
        const after = await metrics(k);
        const polls = (await pages[k].page.evaluate(() => performance.getEntriesByType("resource")
          .filter((e) => e.name.endsWith("/stats/requests")).length)) - polls0[k];
        const per = (m) => ((after[m] - before[k][m]) * 1000) / Math.max(polls, 1);
        r[k][`${tab} task`] = per("TaskDuration");
        r[k][`${tab} script`] = per("ScriptDuration");
      }
    }
    for (const k of order) await pages[k].page.click("#tab-stats");
    const sorts = { old: [], new: [] };
    for (let i = 0; i < 10; i++) {
      for (const k of i % 2 ? order : [...order].reverse()) {
        await pages[k].page.bringToFront(); // a page in the background gets no animation frames
        sorts[k].push(await pages[k].page.evaluate((col) => new Promise((ok) => {
          const th = document.querySelectorAll("#stats th")[col];
          const target = th.querySelector("button") ?? th;
          const t = performance.now();
          target.click();
          requestAnimationFrame(() => setTimeout(() => ok(performance.now() - t)));
        }), i % 2 ? 2 : 4));
      }
    }
    for (const k of order) {
      r[k].sort = median(sorts[k]);
      await pages[k].cdp.send("HeapProfiler.collectGarbage");
      r[k].heapMB = (await metrics(k)).JSHeapUsedSize / 1e6;
      await pages[k].page.close();
      results[k].push(r[k]);
    }
    const fmt = (o) => Object.entries(o).map(([n, v]) => `${n} ${v.toFixed(1)}`).join(", ");
    console.log(`round ${round}: old: ${fmt(r.old)}`);
    console.log(`round ${round}: new: ${fmt(r.new)}`);
  }
  console.log("medians (ms per poll, ms per sort, ms to first render, MB):");
  for (const key of Object.keys(results.old[0])) {
    const o = median(results.old.map((x) => x[key]));
    const n = median(results.new.map((x) => x[key]));
    console.log(`  ${key.padEnd(14)} old ${o.toFixed(1).padStart(7)}  new ${n.toFixed(1).padStart(7)}  ${(((n - o) / o) * 100).toFixed(0).padStart(4)} %`);
  }
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
  servers.old.s.close();
  servers.new.s.close();
}
