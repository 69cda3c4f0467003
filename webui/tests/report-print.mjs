// A run compared with a baseline (issue 42), and the report printed. Needs only dist/ and Chromium (no Locust, no
// rlocust):
//
//   cd webui && npm run test:print        (node tests/report-print.mjs; DIST=/path/to/dist checks another build)
//
// The report: dist/report.html filled with tests/fixtures/report-baseline.json (6 names, one of 120 characters,
// 60 history points, `run` and `baseline`), light and dark, opened from file:// with the network refused:
// - the run parameters are listed (the null ones left out), the comparison's sources, counts and breaches are
//   shown, the table `#baseline` has one row per compared name with exactly the fixture's regressed rows marked
//   `data-verdict="regressed"` and every figure cell marked with its figure's verdict, the SVG bars have one group
//   per compared name, both runs' parameters are side by side; axe-core finds nothing serious;
// - in print media at the A4 width (794 px): light colours whatever the theme (the charts' axes too), no navbar
//   buttons, and no table, chart canvas or SVG reaching past the page's right edge; the uPlot charts redrawn at the
//   page's width (not tiny); back on screen they are restored (size and theme);
// - `page.pdf()` (A4) has at least 2 pages.
// The report without `run` and `baseline` (and with them null) shows neither section.
// The dashboard, from a fake API: with `templateArgs.baseline` the Statistics tab has the note and a "vs baseline"
// column, polls `rlocust/baseline` and follows it; without one, neither, and it never asks for that route.
import http from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { assert, axeCheck, CHROMIUM, launch, openOffline, run, setLastPage, shot, step, testPage, until, webui } from "./harness.mjs";
import { fillIndex, fillReport } from "../scripts/template.mjs";

const DIST = resolve(process.env.DIST || join(webui, "dist"));
const FIXTURE = join(webui, "tests/fixtures/report-baseline.json");
const A4 = { width: 794, height: 1123 };
/** The light theme's --fg and --fg-muted (style.css), the colours printed whatever the theme. */
const LIGHT_FG = "rgb(29, 35, 48)";
const LIGHT_MUTED = "#5b6472";

const label = (r) => `${r.method} ${r.name}`.trim();
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Elements of the page reaching past its right edge (or left of 0), as "what: left..right of width". */
const overflowing = (page) => page.evaluate(() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("table, .chart-canvas canvas, svg.cmp-chart, .chart, .table-wrap, main")) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5 || r.left < -0.5) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.getAttribute("class") ?? ""}: ${r.left}..${r.right} of ${width}`);
    }
  }
  return out;
});

/** Each uPlot chart's width, its box's width and its x axis's colour now. */
const uplots = (page) => page.locator(".chart-canvas").evaluateAll((els) => els.map((el) => ({
  width: el.uplot.width, box: el.clientWidth, axis: el.uplot.axes[0].stroke(el.uplot, 0),
  canvas: el.querySelector("canvas").getBoundingClientRect().width,
})));

async function reportChecks(ctx, dir, html, args, theme) {
  const file = join(dir, `report-${theme}.html`);
  writeFileSync(file, fillReport(html, args, theme));
  const { page, outside, errors } = await openOffline(ctx, file, theme);
  setLastPage(page);
  const cmp = args.baseline;

  await step(`${theme}: run parameters`, async () => {
    await page.waitForSelector("#run-params", { timeout: 10_000 });
    const pairs = await page.locator("#run-params div").evaluateAll((ds) =>
      ds.map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent]));
    const got = Object.fromEntries(pairs);
    for (const [k, v] of [["Locustfile", args.run.locustfile], ["Host", args.run.host], ["Users", String(args.run.users)],
      ["Mode", `${args.run.mode}, ${args.run.workers} workers`], ["User classes", args.run.user_classes.join(", ")],
      ["Excluded tags", args.run.exclude_tags.join(", ")], ["rlocust", args.run.rlocust_version],
      ["Python", args.run.python_version]]) {
      assert(got[k] === v, `run parameter ${k}: ${JSON.stringify(got[k])}, expected ${JSON.stringify(v)}`);
    }
    assert(args.run.arrival_rate === null && !("Arrival rate" in got), "a null parameter (arrival_rate) is listed");
    assert(!("Tags" in got), "an empty list (tags) is listed");
    assert(await page.getAttribute("html", "data-theme") === theme, `theme is not ${theme}`);
  });

  await step(`${theme}: comparison summary and breaches`, async () => {
    const h2 = await page.locator("#comparison h2").textContent();
    assert(h2 === "Compared with baseline", `heading ${h2}`);
    const base = await page.locator("#cmp-baseline").textContent();
    assert(base.includes(cmp.baseline.source) && base.includes(cmp.baseline.format), `baseline source: ${base}`);
    const counts = await page.locator("#cmp-counts").textContent();
    assert(counts.includes(`${cmp.counts.regressed} regressed`) && counts.includes(`${cmp.counts.vanished} vanished`),
      `counts: ${counts}`);
    const breaches = await page.locator("#breaches li").allTextContents();
    assert(same(breaches.map((b) => b.replace(/^▲ /, "")), cmp.breaches), `breaches ${JSON.stringify(breaches)}`);
    // the comparison comes right after the summary and the run parameters, before the request statistics
    const order = await page.evaluate(() => [...document.querySelectorAll("#run-params, #comparison, #requests")]
      .map((e) => e.id));
    assert(same(order, ["run-params", "comparison", "requests"]), `order ${order}`);
  });

  await step(`${theme}: comparison table, verdicts on rows and figure cells`, async () => {
    const rows = await page.locator("#baseline tbody tr").evaluateAll((trs) => trs.map((tr) => ({
      name: `${tr.cells[0].textContent} ${tr.cells[1].textContent}`.trim(), verdict: tr.dataset.verdict,
      cells: [...tr.cells].slice(2, -1).map((td) => td.dataset.verdict ?? null),
      text: tr.cells[tr.cells.length - 1].textContent,
    })));
    assert(same(rows.map((r) => r.name), cmp.rows.map(label)), `rows ${JSON.stringify(rows.map((r) => r.name))}`);
    const regressed = rows.filter((r) => r.verdict === "regressed").map((r) => r.name);
    const expected = cmp.rows.filter((r) => r.verdict === "regressed").map(label);
    assert(expected.length > 0, "the fixture has no regressed row");
    assert(same(regressed, expected), `regressed rows ${JSON.stringify(regressed)}, expected ${JSON.stringify(expected)}`);
    const marked = await page.locator('#baseline tr[data-verdict="regressed"]').count();
    assert(marked === expected.length, `${marked} rows match tr[data-verdict="regressed"]`);
    for (const [i, r] of rows.entries()) {
      const want = cmp.rows[i];
      assert(r.verdict === want.verdict, `${r.name}: row verdict ${r.verdict}, expected ${want.verdict}`);
      // three cells (baseline, this run, delta) per figure: rps, fail_ratio, p50, p95, p99
      const figs = ["rps", "fail_ratio", "p50", "p95", "p99"].flatMap((k) => Array(3).fill(want.figures[k]?.verdict ?? null));
      assert(same(r.cells, figs), `${r.name}: cell verdicts ${JSON.stringify(r.cells)}, expected ${JSON.stringify(figs)}`);
      if (want.verdict === "regressed") assert(r.text.includes("▲"), `${r.name}: no ▲ marker (${r.text})`);
    }
    // regressed cells are coloured differently from unchanged ones
    const bg = (sel) => page.locator(sel).first().evaluate((e) => getComputedStyle(e).backgroundColor);
    const bad = await bg('#baseline td[data-verdict="regressed"]');
    const plain = await bg('#baseline td[data-verdict="unchanged"]');
    assert(bad !== plain, `a regressed cell's background ${bad} is an unchanged one's`);
  });

  await step(`${theme}: p50/p95 bars (SVG) and both runs' parameters`, async () => {
    const groups = await page.locator("#baseline-chart > g").count();
    const compared = cmp.rows.filter((r) => r.status === "compared").length;
    assert(groups === compared, `${groups} bar groups for ${compared} compared names`);
    const runs = await page.locator("#baseline-runs tbody tr").evaluateAll((trs) =>
      trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    const rl = runs.find((r) => r[0] === "rlocust");
    assert(rl && rl[1] === cmp.baseline.run.rlocust_version && rl[2] === cmp.current.run.rlocust_version,
      `rlocust versions side by side: ${JSON.stringify(rl)}`);
    assert(await page.locator("#baseline-runs tr.diff").count() > 0, "no differing parameter marked");
  });

  await step(`${theme}: screen, axe-core, no errors, nothing fetched`, async () => {
    await until(async () => (await page.locator(".chart-canvas canvas").count()) === 3, 5000, "3 charts");
    await shot(page, `report-baseline-${theme}.png`);
    await axeCheck(page, `report with a baseline, ${theme}`);
    assert(errors.length === 0, `errors: ${errors.join("; ")}`);
    assert(outside.length === 0, `requests outside the file: ${outside.join(", ")}`);
  });

  let screenWidths;
  await step(`${theme}: print media at the A4 width: light, nothing past the right edge`, async () => {
    await page.setViewportSize(A4);
    await until(async () => (await uplots(page)).every((u) => u.box < A4.width && u.width === Math.max(u.box, 300)), 5000,
      "charts at the A4 screen width");
    screenWidths = (await uplots(page)).map((u) => u.width);
    await page.emulateMedia({ media: "print", colorScheme: theme });
    // the charts are redrawn at the page's width (at most 660 px, style.css's @page margins) in light colours
    const us = await until(async () => {
      const now = await uplots(page);
      return now.every((u) => u.width <= u.box && u.width >= 500 && u.axis === LIGHT_MUTED) && now;
    }, 5000, "charts redrawn for print");
    assert(us.length === 3, `${us.length} charts in print`);
    const bad = await overflowing(page);
    assert(bad.length === 0, `past the page's right edge: ${bad.join("; ")}`);
    const look = await page.evaluate(() => ({
      fg: getComputedStyle(document.body).color,
      theme: document.documentElement.dataset.theme,
      buttons: [...document.querySelectorAll("#btn-theme, #download-report, .save-image")].filter((e) => e.getClientRects().length).length,
      canvases: [...document.querySelectorAll(".chart-canvas canvas")].map((c) => c.getBoundingClientRect().width),
    }));
    assert(look.fg === LIGHT_FG, `printed text colour ${look.fg} (the light theme's is ${LIGHT_FG})`);
    assert(look.buttons === 0, `${look.buttons} navbar/chart buttons visible in print`);
    assert(look.canvases.every((w) => w >= 500), `chart canvases in print ${look.canvases} px wide (tiny)`);
    await page.screenshot({ path: join(dir, `print-${theme}.png`), fullPage: true });
  });

  await step(`${theme}: back on screen the charts and the theme are restored`, async () => {
    await page.emulateMedia({ media: "screen", colorScheme: theme });
    await until(async () => same((await uplots(page)).map((u) => u.width), screenWidths), 5000,
      `chart widths back to ${screenWidths}`);
    assert(await page.getAttribute("html", "data-theme") === theme, "theme not restored after print");
    const axis = (await uplots(page))[0].axis;
    if (theme === "dark") assert(axis !== LIGHT_MUTED, `dark axis colour after print: ${axis}`);
  });

  await step(`${theme}: page.pdf() (A4) has at least 2 pages`, async () => {
    const pdf = await page.pdf({ format: "A4", timeout: 30_000 });
    const pages = (pdf.toString("latin1").match(/\/Type\s*\/Page(?!s)/g) ?? []).length;
    writeFileSync(join(dir, `report-${theme}.pdf`), pdf);
    console.log(`     ${theme}: PDF ${pages} pages, ${(pdf.length / 1024).toFixed(0)} KB`);
    assert(pages >= 2, `the PDF has ${pages} page(s)`);
  });
  await page.close();
}

async function withoutBaseline(ctx, dir, html, args) {
  const { run: _r, baseline: _b, ...old } = args;
  for (const [what, a] of [["absent", old], ["null", { ...old, run: null, baseline: null }]]) {
    await step(`report with run and baseline ${what}: neither section`, async () => {
      const file = join(dir, `report-${what}.html`);
      writeFileSync(file, fillReport(html, a, "light"));
      const { page, errors } = await openOffline(ctx, file);
      setLastPage(page);
      await page.waitForSelector("#requests");
      const n = await page.locator("#run-params, #comparison, #baseline, #baseline-chart").count();
      assert(n === 0, `${n} comparison/run elements`);
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
      await page.close();
    });
  }
}

/** The dashboard from a fake API: stats/requests and (when `live` is given) rlocust/baseline. */
async function dashboard(ctx, args) {
  const index = readFileSync(join(DIST, "index.html"), "utf8");
  const cmp = args.baseline;
  // the live comparison differs from the one at page load: one more name regressed, so polling shows
  const live = structuredClone(cmp);
  const search = live.rows.find((r) => r.name === "/search?q=[term]");
  search.verdict = "regressed";
  search.figures.p95 = { ...search.figures.p95, current: 80, delta: 11, delta_pct: 15.94, verdict: "regressed" };
  live.counts.regressed += 1;
  const stats = {
    stats: args.requests_statistics, errors: [], current_rps: 32.7, current_fail_per_sec: 0.05, total_rps: 32.7,
    total_fail_per_sec: 0.05, fail_ratio: 0.0015, state: "running", user_count: 10,
    current_response_time_percentiles: { "response_time_percentile_0.5": 25, "response_time_percentile_0.95": 120 },
  };
  const asked = [];
  let withBaseline = true;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    asked.push(path);
    const json = (o, status = 200) => { res.writeHead(status, { "Content-Type": "application/json" }); res.end(JSON.stringify(o)); };
    if (path === "/") {
      const a = {
        locustfile: "locustfile.py", state: "running", is_distributed: false, user_count: 10, version: "2.47.0",
        host: "http://127.0.0.1:8089", history: [], num_users: 10, spawn_rate: 5, run_time: null, worker_count: 0,
        stats_history_enabled: false, extra_options: {}, show_userclass_picker: false, available_user_classes: ["WebUser"],
        available_shape_classes: [], percentiles_to_chart: [0.5, 0.95], percentiles_to_statistics: [0.95, 0.99],
        profile: null, ...(withBaseline ? { baseline: cmp } : {}),
      };
      res.writeHead(200, { "Content-Type": "text/html" });
      return res.end(fillIndex(index, a));
    }
    if (path.startsWith("/assets/")) {
      res.writeHead(200, { "Content-Type": path.endsWith(".js") ? "text/javascript" : "text/css" });
      return res.end(readFileSync(join(DIST, path)));
    }
    if (path === "/stats/requests") return json(stats);
    if (path === "/rlocust/baseline") return withBaseline ? json(live) : json({ error: "no baseline" }, 404);
    if (path === "/logs") return json({ master: [], workers: {} });
    return json({}, 404);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const { page, errors } = await testPage(ctx);
  try {
    await step("dashboard with a baseline: note, column, row verdicts, polled", async () => {
      await page.goto(url);
      await page.waitForSelector("#stats tbody tr");
      const note = `Compared with ${cmp.baseline.source}: ${live.counts.regressed} regressed, ${live.counts.improved} improved`;
      const noteNow = async () => ((await page.locator("#baseline-note").count())
        ? page.locator("#baseline-note").textContent() : "(no note)");
      await until(async () => (await noteNow()) === note, 8000, `the note "${note}" (from rlocust/baseline)`);
      const head = await page.locator("#stats thead th").allTextContents();
      const at = head.indexOf("vs baseline");
      assert(at > 0 && head[at + 1] === "Average (ms)", `columns ${JSON.stringify(head)}`);
      // visible without scrolling sideways at 1280 px
      const right = await page.locator("#stats thead th").nth(at).evaluate((th) =>
        th.getBoundingClientRect().right - th.closest(".table-wrap").getBoundingClientRect().right);
      assert(right <= 0, `the "vs baseline" header is ${right} px past the table's box`);
      const rows = await page.locator("#stats tbody tr:not(.spacer)").evaluateAll((trs, at) => trs.map((tr) => ({
        name: `${tr.cells[0].textContent} ${tr.cells[1].textContent}`.trim(), verdict: tr.dataset.verdict ?? null,
        vs: tr.cells[at].textContent,
      })), at);
      const want = (name) => live.rows.find((r) => label(r) === name);
      for (const r of rows) {
        const w = want(r.name);
        assert(w, `no comparison row for ${r.name}`);
        assert(r.verdict === w.verdict, `${r.name}: data-verdict ${r.verdict}, expected ${w.verdict}`);
      }
      const by = Object.fromEntries(rows.map((r) => [r.name, r.vs]));
      assert(by["GET /slow"] === "+20.9%", `/slow vs baseline ${by["GET /slow"]}`);
      assert(by["GET /"] === "\u221235.7%", `/ vs baseline ${by["GET /"]}`);
      assert(by["GET /search?q=[term]"] === "+15.9%", `/search (live) vs baseline ${by["GET /search?q=[term]"]}`);
      assert(by["PUT /cart/items"] === "too few samples", `/cart/items vs baseline ${by["PUT /cart/items"]}`);
      const regressed = rows.filter((r) => r.verdict === "regressed").map((r) => r.name).sort();
      assert(same(regressed, ["GET /search?q=[term]", "GET /slow"]), `regressed rows ${regressed}`);
      const polls = asked.filter((p) => p === "/rlocust/baseline").length;
      await until(async () => asked.filter((p) => p === "/rlocust/baseline").length > polls, 6000, "another rlocust/baseline poll");
      await shot(page, "dashboard-baseline.png");
      await axeCheck(page, "dashboard with a baseline");
      assert(errors.length === 0, `errors: ${errors.join("; ")}`);
    });
    await step("dashboard without a baseline: no note, no column, the route never asked", async () => {
      withBaseline = false;
      asked.length = 0;
      await page.goto(url);
      await page.waitForSelector("#stats tbody tr");
      await until(() => asked.filter((p) => p === "/stats/requests").length >= 2, 8000, "two stats polls");
      assert(await page.locator("#baseline-note").count() === 0, "a baseline note");
      const head = await page.locator("#stats thead th").allTextContents();
      assert(!head.includes("vs baseline"), `columns ${head}`);
      assert(await page.locator("#stats tr[data-verdict]").count() === 0, "rows with data-verdict");
      assert(!asked.includes("/rlocust/baseline"), "rlocust/baseline asked without a baseline");
    });
  } finally {
    await page.close();
    server.close();
  }
}

async function main() {
  assert(existsSync(CHROMIUM), `chromium not found at ${CHROMIUM}`);
  const args = JSON.parse(readFileSync(FIXTURE, "utf8"));
  const html = readFileSync(join(DIST, "report.html"), "utf8");
  const dir = mkdtempSync(join(tmpdir(), "rlocust-print-"));
  const { ctx, close } = await launch();
  try {
    for (const theme of ["light", "dark"]) await reportChecks(ctx, dir, html, args, theme);
    await withoutBaseline(ctx, dir, html, args);
    await dashboard(ctx, args);
  } finally {
    await close();
    if (process.env.KEEP_PRINT) console.log(`     files kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await run("report-print", main, 180_000);
