// The capacity search (issue 52) in the browser. Needs only dist/ and Chromium (no Locust, no rlocust): the
// search's JSON comes from tests/fixtures/search.json (a finished 9-probe search and the same search running, at
// its 5th probe), shaped as GET search and the report's `search` are.
//
//   cd webui && npm run test:search        (node tests/search.mjs; DIST=/path/to/dist checks another build)
//
// - The report filled with the finished search, opened from file:// with the network refused: the headline
//   (capacity, first failing level and its breach, why it ended, the gate), a row per probe with its verdict, the
//   knee's rows marked, the SLO figure's column; the two charts: points sorted by x, y = x, the SLO's latency limit
//   in view and drawn (its colour on its row of the canvas), the capacity drawn (on its column); axe-core; print
//   media at A4: the charts redrawn at the page's width, nothing past the right edge. Without `search` (absent or
//   null): no section.
// - The dashboard from a fake API with `templateArgs.search_form`: the Capacity tab appears when GET search
//   answers a search, shows the running search (capacity so far, the level probed now, 5 rows) and follows it
//   live to the finished one (9 rows); with GET search answering null, no tab. As Locust (no `search_form`, the
//   route a 404): no tab and the route never asked, no page error.
// - The start form: the "Capacity search" part only with `search_form`; a search posts `search`, `slo` and the
//   given `search_*` fields (no `user_count`, no empty field), `spawn_rate` for users and `arrival_max_users` for
//   arrival-rate (never the other, as the command line), and opens the Capacity tab; without a search the swarm's
//   fields are Locust's as before.
import http from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assert, axeCheck, CHROMIUM, launch, openOffline, run, setLastPage, shot, step, testPage, until, webui } from "./harness.mjs";
import { fillIndex, fillReport } from "../scripts/template.mjs";

const DIST = resolve(process.env.DIST || join(webui, "dist"));
const { finished, running } = JSON.parse(readFileSync(join(webui, "tests/fixtures/search.json"), "utf8"));
const REPORT_ARGS = join(webui, "tests/fixtures/report-baseline.json");
const A4 = { width: 794, height: 1123 };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Each capacity chart: its x values, series, scales and how many pixels of `rgb` lie on a value's row/column. */
const chartFacts = (page, id, probe) => page.locator(`#${id}`).evaluate((el, probe) => {
  const u = el.uplot;
  const { ctx, bbox } = u;
  const near = (d, [r, g, b]) => Math.abs(d[0] - r) < 40 && Math.abs(d[1] - g) < 40 && Math.abs(d[2] - b) < 40;
  const count = (img, rgb) => {
    let n = 0;
    for (let i = 0; i < img.data.length; i += 4) if (near(img.data.subarray(i, i + 3), rgb)) n++;
    return n;
  };
  const out = { xs: [...u.data[0]], ys: u.data.slice(1).map((s) => [...s]), ymax: u.scales.y.max, width: u.width,
    marks: el.dataset.marks, onRow: null, onCol: null };
  if (probe.row != null) {
    const y = Math.round(u.valToPos(probe.row, "y", true));
    out.onRow = count(ctx.getImageData(bbox.left, y - 1, bbox.width, 3), probe.rgb);
  }
  if (probe.col != null) {
    const x = Math.round(u.valToPos(probe.col, "x", true));
    out.onCol = count(ctx.getImageData(x - 1, bbox.top, 3, bbox.height), probe.rgb);
  }
  return out;
}, probe);

/** A CSS variable of the page as [r, g, b] (the marks' colours: --danger, --accent). */
const cssRgb = (page, name) => page.evaluate((name) => {
  const hex = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}, name);

async function checkSection(page, s, where) {
  const text = async (sel) => (await page.locator(sel).textContent()).trim();
  const finishedSearch = s.state !== "running";
  assert(await text("#search-capacity") === `${s.capacity}/s`, `${where}: capacity ${await text("#search-capacity")}`);
  const ff = s.first_failing;
  const failing = await text("#search-failing");
  assert(failing === `${ff.offered}/s (probe ${ff.index}, fail): p95<100: 154.2 ms`, `${where}: first failing "${failing}"`);
  const status = await text("#search-status");
  if (finishedSearch) {
    assert(status.startsWith(`finished after ${s.probes.length} probes: converged`), `${where}: status "${status}"`);
    assert(await page.locator("#search-current").count() === 0, `${where}: a level probed now after the end`);
    assert(await text("#search-gate") === `capacity ≥ ${s.gate}/s: passed`, `${where}: gate`);
  } else {
    assert(status === `running: ${s.probes.length} probes judged`, `${where}: status "${status}"`);
    assert(await text("#search-current") === `${s.current}/s`, `${where}: probing now`);
    assert(await page.locator("#search-gate").count() === 0, `${where}: a gate without one`);
  }
  const head = await page.locator("#search-probes thead th").allTextContents();
  for (const h of ["Offered (1/s)", "Achieved (1/s)", "Requests/s", "Mean in flight", "Goodput/s", "Goodput %",
    "p50 (ms)", "p95 (ms)", "p99 (ms)", "Fail %", "ttft.p95", "Dropped", "Verdict", "Bound by"]) {
    assert(head.includes(h), `${where}: no column ${h} in ${JSON.stringify(head)}`);
  }
  const rows = await page.locator("#search-probes tbody tr").evaluateAll((trs) => trs.map((tr) => ({
    n: tr.cells[0].textContent, offered: tr.cells[1].textContent, verdict: tr.dataset.verdict, cls: tr.className,
    ttft: tr.cells[11].textContent, text: tr.cells[tr.cells.length - 2].textContent, bound: tr.cells[tr.cells.length - 1].textContent,
  })));
  assert(same(rows.map((r) => r.n), s.probes.map((p) => String(p.index))), `${where}: rows ${rows.map((r) => r.n)}`);
  assert(same(rows.map((r) => r.verdict), s.probes.map((p) => p.verdict)), `${where}: verdicts ${rows.map((r) => r.verdict)}`);
  assert(same(rows.map((r) => r.ttft), s.probes.map((p) => String(p.figures[0].value))), `${where}: ttft.p95 column`);
  const fail = rows.find((r) => r.n === String(ff.index));
  assert(fail.text === "fail, ended early" && fail.bound === "p95<100" && fail.cls.includes("knee-fail"),
    `${where}: the failing row ${JSON.stringify(fail)}`);
  const capRow = rows.filter((r) => r.cls.includes("knee-pass"));
  const capIndex = [...s.probes].reverse().find((p) => p.verdict === "pass" && p.offered === s.capacity).index;
  assert(capRow.length === 1 && capRow[0].n === String(capIndex), `${where}: capacity row ${JSON.stringify(capRow)}`);

  // latency against throughput: sorted by throughput, the SLO's p95 limit in view and drawn, the knee marked
  await until(async () => (await page.locator("#search-latency canvas, #search-achieved canvas").count()) === 2, 5000, "2 charts");
  const lat = await chartFacts(page, "search-latency", { row: 100, rgb: await cssRgb(page, "--danger") });
  const tput = s.probes.map((p) => p.throughput).sort((a, b) => a - b);
  assert(same(lat.xs, tput), `${where}: latency chart x ${lat.xs}`);
  assert(lat.ys.length === 3 && lat.ymax >= 100, `${where}: latency series ${lat.ys.length}, y max ${lat.ymax}`);
  assert(lat.marks.includes("SLO p95<100") && !lat.marks.includes("ttft") && lat.marks.includes(`capacity ${s.capacity}/s`)
    && lat.marks.includes(`first failing ${ff.offered}/s`), `${where}: latency marks ${lat.marks}`);
  assert(lat.onRow > lat.width / 3, `${where}: the SLO line is not drawn at 100 ms (${lat.onRow} red pixels on its row)`);
  // achieved against offered: sorted by offered, y = x, the capacity's line drawn at its level
  const ach = await chartFacts(page, "search-achieved", { col: s.capacity, rgb: await cssRgb(page, "--accent") });
  const offered = s.probes.map((p) => p.offered).sort((a, b) => a - b);
  assert(same(ach.xs, offered) && same(ach.ys[1], offered), `${where}: achieved chart x ${ach.xs}, y=x ${ach.ys[1]}`);
  assert(ach.onCol > 50, `${where}: the capacity line is not drawn at ${s.capacity} (${ach.onCol} green pixels)`);
}

async function report(ctx, dir) {
  const html = readFileSync(join(DIST, "report.html"), "utf8");
  const { baseline: _b, run: _r, ...base } = JSON.parse(readFileSync(REPORT_ARGS, "utf8"));
  for (const theme of ["light", "dark"]) {
    await step(`report (${theme}): the search's headline, probes and charts`, async () => {
      const file = join(dir, `report-${theme}.html`);
      writeFileSync(file, fillReport(html, { ...base, search: finished }, theme));
      const { page, outside, errors } = await openOffline(ctx, file, theme);
      setLastPage(page);
      await page.waitForSelector("#capacity");
      const order = await page.evaluate(() => [...document.querySelectorAll("h2")].map((h) => h.textContent));
      assert(order[0] === "Capacity search" && order[1] === "Request Statistics", `sections ${order}`);
      await checkSection(page, finished, `report ${theme}`);
      await axeCheck(page, `report with a search, ${theme}`);
      const box = await page.locator("#capacity").boundingBox();
      await page.screenshot({ path: join(process.env.NOTES_DIR || dir, `search-report-${theme}.png`), fullPage: true,
        clip: { x: 0, y: Math.max(0, box.y - 60), width: 1280, height: box.height + 70 } });
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
      assert(outside.length === 0, `requests outside the file: ${outside.join(", ")}`);
      if (theme === "light") {
        await page.setViewportSize(A4);
        await page.emulateMedia({ media: "print" });
        const widths = await until(async () => {
          const w = await page.locator("#capacity .chart-canvas").evaluateAll((els) => els.map((e) => e.uplot.width));
          return w.every((x) => x >= 500 && x <= 660) && w;
        }, 5000, "the search's charts redrawn for print");
        assert(widths.length === 2, `${widths.length} charts in print`);
        const past = await page.evaluate(() => [...document.querySelectorAll("#capacity table, #capacity canvas")]
          .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).length);
        assert(past === 0, `${past} of the search's tables/charts past the page's right edge in print`);
      }
      await page.close();
    });
  }
  for (const [what, a] of [["absent", base], ["null", { ...base, search: null }]]) {
    await step(`report with search ${what}: no section`, async () => {
      const file = join(dir, `report-${what}.html`);
      writeFileSync(file, fillReport(html, a, "light"));
      const { page, errors } = await openOffline(ctx, file);
      setLastPage(page);
      await page.waitForSelector("#requests");
      assert(await page.locator("#capacity, #search-probes").count() === 0, "a search section without a search");
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
      await page.close();
    });
  }
}

/** A fake server: the dashboard, stats, and `search` as `api.search` says ("404" as Locust answers it). */
function fakeServer(api) {
  const index = readFileSync(join(DIST, "index.html"), "utf8");
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    api.asked.push(`${req.method} ${path}`);
    const json = (o, status = 200) => { res.writeHead(status, { "Content-Type": "application/json" }); res.end(JSON.stringify(o)); };
    if (path === "/") {
      const a = {
        locustfile: "locustfile.py", state: api.state, is_distributed: false, user_count: 0, version: "2.47.0",
        host: "http://127.0.0.1:8089", history: [], num_users: 10, spawn_rate: 5, run_time: null, worker_count: 0,
        stats_history_enabled: false, extra_options: {}, show_userclass_picker: false, available_user_classes: ["WebUser"],
        available_shape_classes: [], percentiles_to_chart: [0.5, 0.95], percentiles_to_statistics: [0.95, 0.99],
        profile: null, ...(api.searchForm ? { search_form: true } : {}),
      };
      res.writeHead(200, { "Content-Type": "text/html" });
      return res.end(fillIndex(index, a));
    }
    if (path.startsWith("/assets/")) {
      res.writeHead(200, { "Content-Type": path.endsWith(".js") ? "text/javascript" : "text/css" });
      return res.end(readFileSync(join(DIST, path)));
    }
    if (path === "/stats/requests") {
      return json({ stats: [], errors: [], current_rps: 0, current_fail_per_sec: 0, total_rps: 0, total_fail_per_sec: 0,
        fail_ratio: 0, state: api.state, user_count: 0, current_response_time_percentiles: {} });
    }
    if (path === "/search") return api.search === "404" ? json({}, 404) : json(api.search);
    if (path === "/swarm" && req.method === "POST") {
      let body = "";
      req.on("data", (d) => { body += d; });
      req.on("end", () => {
        api.swarms.push(new URLSearchParams(body));
        api.state = "running";
        json({ success: true, message: "Swarming started", host: "http://127.0.0.1:8089" });
      });
      return;
    }
    if (path === "/logs") return json({ master: [], workers: {} });
    return json({}, 404); // Locust's answer to rlocust's own routes
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

async function dashboard(ctx) {
  const api = { state: "running", searchForm: true, search: running, asked: [], swarms: [] };
  const server = await fakeServer(api);
  const url = `http://127.0.0.1:${server.address().port}/`;
  const { page, errors } = await testPage(ctx);
  page.on("console", (m) => {
    // Locust (and this fake) answer rlocust's own routes with 404, which Chromium logs: only the search's count here
    if (m.type() === "error" && !/Failed to load resource.*404/.test(m.text())) errors.push(`console: ${m.text()}`);
    if (m.type() === "error" && m.location().url.endsWith("/search")) errors.push(`console: ${m.text()} (search)`);
  });
  const searchAsked = () => api.asked.filter((a) => a === "GET /search").length;
  try {
    await step("dashboard: a running search in the Capacity tab, followed live to its end", async () => {
      await page.goto(`${url}?tab=stats`);
      await page.waitForSelector("#tab-capacity");
      const tabs = await page.locator("[role=tab]").allTextContents();
      assert(same(tabs.slice(0, 3), ["Statistics", "Charts", "Capacity"]), `tabs ${tabs}`);
      await page.click("#tab-capacity");
      await page.waitForSelector("#search-probes tbody tr");
      await checkSection(page, running, "dashboard, running");
      assert((await page.locator("#search-headline dt").first().textContent()) === "Capacity so far", "capacity so far");
      await shot(page, "search-dashboard-running.png");
      if (process.env.NOTES_DIR) await page.screenshot({ path: join(process.env.NOTES_DIR, "search-dashboard-running.png"), fullPage: true });
      const before = searchAsked();
      api.search = finished;
      await until(async () => (await page.locator("#search-probes tbody tr").count()) === finished.probes.length, 8000,
        `${finished.probes.length} probes (polled)`);
      assert(searchAsked() > before, "GET search not polled");
      await checkSection(page, finished, "dashboard, finished");
      await axeCheck(page, "dashboard's Capacity tab");
      await shot(page, "search-dashboard.png");
      if (process.env.NOTES_DIR) await page.screenshot({ path: join(process.env.NOTES_DIR, "search-dashboard.png"), fullPage: true });
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
    });
    await step("dashboard: GET search answers null, no Capacity tab", async () => {
      api.search = null;
      api.asked.length = 0;
      await page.goto(url);
      await page.waitForSelector("#tab-stats");
      await until(() => searchAsked() >= 2, 8000, "GET search asked twice");
      assert(await page.locator("#tab-capacity, #capacity").count() === 0, "a Capacity tab without a search");
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
    });
    await step("dashboard as Locust (no search_form, the route a 404): no tab, never asked, no error", async () => {
      api.searchForm = false;
      api.search = "404";
      api.asked.length = 0;
      await page.goto(url);
      await page.waitForSelector("#tab-stats");
      await until(() => api.asked.filter((a) => a === "GET /stats/requests").length >= 3, 10_000, "three stats polls");
      assert(await page.locator("#tab-capacity, #capacity").count() === 0, "a Capacity tab on Locust");
      assert(searchAsked() === 0, "GET search asked of a server without it");
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
    });
    await step("start form: no Capacity search part without search_form", async () => {
      api.state = "ready";
      await page.goto(url);
      await page.waitForSelector(".swarm-form");
      assert(await page.locator("#search, .search-fields").count() === 0, "a search part on Locust's form");
    });
    // as the command line: users takes -r (spawn_rate) and refuses --arrival-max-users; arrival-rate the reverse
    const cases = [
      ["users", { search_start: "10", search_max: "200", search_probe_time: "10s", search_budget: "8" },
        { spawn_rate: "5" }, ["#arrival_max_users"]],
      ["arrival-rate", { search_start: "20", search_warmup: "2s", search_precision: "5%", search_levels: "",
        arrival_max_users: "50" }, {}, ["#spawn_rate"]],
    ];
    for (const [mode, filled, kept, absent] of cases) {
      await step(`start form: search ${mode} posts its fields, not user_count, and opens the Capacity tab`, async () => {
        api.state = "ready";
        api.searchForm = true;
        api.search = null;
        api.swarms.length = 0;
        await page.goto(url);
        await page.waitForSelector(".search-fields");
        assert(await page.locator("#user_count").isVisible(), "no user count before a search is chosen");
        await page.click(".search-fields summary");
        await page.selectOption("#search", mode);
        await page.waitForSelector("#slo");
        for (const sel of ["#user_count", "#arrival_rate", ...absent]) {
          assert(await page.locator(sel).count() === 0, `${sel} asked with a ${mode} search`);
        }
        await page.fill("#slo", "p95<100; fail_ratio<0.01");
        for (const [k, v] of Object.entries(filled)) await page.fill(`#${k}`, v);
        await page.fill("#host", "http://127.0.0.1:8089");
        await axeCheck(page, `start form, ${mode} search`);
        await shot(page, `search-form-${mode}.png`);
        if (process.env.NOTES_DIR) {
          await page.screenshot({ path: join(process.env.NOTES_DIR, `search-form-${mode}.png`), fullPage: true });
        }
        api.search = running;
        await page.click(".swarm-form button[type=submit]");
        await until(() => api.swarms.length === 1, 5000, "POST swarm");
        const sent = Object.fromEntries(api.swarms[0]);
        const given = Object.fromEntries(Object.entries(filled).filter(([, v]) => v !== ""));
        const want = { search: mode, slo: "p95<100; fail_ratio<0.01", ...given, ...kept, host: "http://127.0.0.1:8089",
          run_time: "", profile: "" };
        assert(same(Object.keys(sent).sort(), Object.keys(want).sort()), `fields ${JSON.stringify(sent)}`);
        for (const [k, v] of Object.entries(want)) assert(sent[k] === v, `${k}=${JSON.stringify(sent[k])}, expected ${JSON.stringify(v)}`);
        await page.waitForSelector("#tab-capacity[aria-selected=true]");
        await page.waitForSelector("#search-probes tbody tr");
        assert(errors.length === 0, `errors: ${errors.join("; ")}`);
      });
    }
    await step("start form: without a search the swarm's fields are Locust's", async () => {
      api.state = "ready";
      api.search = null;
      api.swarms.length = 0;
      await page.goto(url);
      await page.waitForSelector(".search-fields");
      await page.fill("#host", "http://127.0.0.1:8089");
      await page.click(".swarm-form button[type=submit]");
      await until(() => api.swarms.length === 1, 5000, "POST swarm");
      const keys = [...api.swarms[0].keys()].sort();
      assert(same(keys, ["host", "profile", "run_time", "spawn_rate", "user_count"]), `fields ${keys}`);
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
    });
  } finally {
    await page.close();
    server.close();
  }
}

async function main() {
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`);
  const dir = mkdtempSync(join(tmpdir(), "rlocust-search-"));
  const { ctx, close } = await launch();
  try {
    await report(ctx, dir);
    await dashboard(ctx);
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await run("search", main, 150_000);
