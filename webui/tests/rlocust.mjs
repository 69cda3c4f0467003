// Browser test of the dashboard and report as RLOCUST's own web server serves them (no proxy; issue 9).
//
//   RLOCUST_BIN=target/release/rlocust RLOCUST_TARGET_BIN=target/release/rlocust-target node tests/rlocust.mjs
//
// Starts the loopback target and `rlocust -f demo.py -u 7 -r 3 --html <tmp>/report_{u}.html` (web UI, no
// --headless), then in headless Chromium: the start form shows the command line's values, a run starts from it, the
// statistics table and the charts fill, a reload brings the charts back from the server's history (5 s points), the
// user count is edited, every tab is visited, dark is kept across a reload, the run stops; the report is opened from
// the Download Data tab and downloaded (Content-Disposition attachment) and the downloaded file is opened from
// file:// with every other request refused. Then SIGTERM: the --html file (report_5.html) must exist with Locust's
// report keys and open offline the same way. A second rlocust under --web-base-path /ui serves the page, its assets
// and its API under /ui/; a third runs a LoadTestShape from the form; a fourth an arrival rate (issue 31); a fifth a
// streaming locustfile, whose Metrics tab shows the stream metrics (issue 40). Screenshots: rlocust-dashboard-light.png, rlocust-dashboard-dark.png, rlocust-report.png.
// Every process is bounded (timeouts, killed at the end); the whole test gives up after 300 s.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractTemplateArgs } from "../scripts/template.mjs";
import { aggregatedRequests, answering, assert, axeCheck, chartPoints, charts, checkChartsAtRest, CHROMIUM, env, freePort,
  get, launch, openOffline, pngSize, repo, run, setLastPage, shot, start, step, stopChild, text, until,
  darkAcrossReload } from "./harness.mjs";

const RLOCUST = env("RLOCUST_BIN", join(repo, "target/release/rlocust"));
const TARGET = env("RLOCUST_TARGET_BIN", join(repo, "target/release/rlocust-target"));
const LOCUSTFILE = join(repo, "locustfiles/demo.py");
const DEMO_NAMES = ["/", "/items/[id]", "/me", "/status/404", "/login"];
// Locust's report template args (get_html_report).
const REPORT_KEYS = ["is_report", "requests_statistics", "failures_statistics", "exceptions_statistics",
  "response_time_statistics", "start_time", "end_time", "duration", "host", "history", "show_download_link",
  "locustfile", "tasks", "percentiles_to_chart", "profile"];

/** `window.templateArgs` of a page rlocust serves (or of a report file). */
const templateArgs = (html) => JSON.parse(extractTemplateArgs(html));
const apiStats = async (base) => (await get(base + "stats/requests")).json();

/** Checks a report page opened by `openOffline`: it rendered the run of demo.py with its charts, offline. */
async function checkReport({ page, outside, errors }, { host, downloadLink }) {
  const args = await page.evaluate(() => window.templateArgs);
  await page.waitForSelector("#requests tbody tr");
  assert((await page.title()) === "Locust Test Report", `title ${await page.title()}`);
  assert((await text(page, "h1")) === "Locust Test Report", "no h1");
  const summary = await text(page, "dl.summary");
  assert(summary.includes(host) && summary.includes("demo.py") && summary.includes(args.duration),
    `summary: ${summary}`);
  const names = await page.locator("#requests tbody td:nth-child(2)").allTextContents();
  for (const n of [...DEMO_NAMES, "Aggregated"]) assert(names.includes(n), `no row ${n} in the report: ${names}`);
  assert(names.length === args.requests_statistics.length, "rows != requests_statistics");
  assert((await page.locator("#response-times tbody tr").count()) === args.response_time_statistics.length,
    "response time rows");
  assert((await page.locator("#failures").textContent()).includes("/status/404"), "no /status/404 failure");
  assert(args.history.length >= 2, `${args.history.length} history points`);
  assert((await page.locator(".chart .uplot canvas").count()) === 3, "not 3 uPlot charts");
  assert(Number(await page.locator(".chart-canvas").first().getAttribute("data-points")) === args.history.length,
    "chart points != history length");
  // uPlot drew something: the RPS canvas is not blank.
  const inked = await page.locator(".chart .uplot canvas").first().evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  assert(inked > 500, `the RPS chart is blank (${inked} pixels)`);
  // zero-based axes, the latest values in the legend, the first point at the test's start
  const cs = await charts(page);
  checkChartsAtRest(cs, "report");
  const start = Date.parse(args.start_time) / 1000;
  const first = Date.parse(args.history[0].time) / 1000;
  assert(Math.abs(first - start) <= 2, `the history starts at ${args.history[0].time}, the test at ${args.start_time}`);
  assert(cs.every((c) => c.t0 === first), `the charts start at ${cs.map((c) => c.t0)}, not ${first}`);
  const users = cs.find((c) => c.title === "Number of Users");
  assert(users.first[0] === 0, `the users chart starts at ${users.first[0]} users`);
  // a chart saves itself as a PNG offline too
  const [png] = await Promise.all([page.waitForEvent("download"),
    page.locator(".chart").nth(1).locator("button.save-image").click()]);
  assert(png.suggestedFilename() === "response-times.png", `saved as ${png.suggestedFilename()}`);
  assert((await page.locator("#download-report").count()) === (downloadLink ? 1 : 0), "download link");
  assert(outside.length === 0, `the report requested ${outside}`);
  assert(errors.length === 0, `errors: ${errors.join("; ")}`);
  return args;
}

/**
 * At 400 px the top bar keeps its figures on one line, as high with the generator lag as without it; the lag goes
 * on Reset (its polls held meanwhile, so that none brings it back first).
 */
async function narrowScreen(page) {
  await page.setViewportSize({ width: 400, height: 800 });
  await until(async () => (await page.locator("#nav-lag").count()) === 1, 15_000, "the lag in the top bar");
  const bar = () => page.evaluate(() => {
    const tops = [...document.querySelectorAll(".status > div")].map((d) => d.offsetTop);
    return { height: document.querySelector(".navbar").offsetHeight, lines: new Set(tops).size };
  });
  const withLag = await bar();
  assert(withLag.lines === 1, `the figures wrap onto ${withLag.lines} lines`);
  await shot(page, "rlocust-narrow.png");
  let release;
  const held = new Promise((ok) => { release = ok; });
  await page.route("**/rlocust/generator", async (route) => { await held; await route.continue(); });
  await Promise.all([page.waitForResponse((r) => r.url().endsWith("/stats/reset")), page.click("#btn-reset")]);
  await until(async () => (await page.locator("#nav-lag").count()) === 0, 2000, "the lag to go on Reset");
  const without = await bar();
  release();
  await page.unroute("**/rlocust/generator");
  assert(without.height === withLag.height && without.lines === 1,
    `the bar is ${without.height} px without the lag, ${withLag.height} px with it`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function main() {
  for (const [what, p] of [["rlocust", RLOCUST], ["rlocust-target", TARGET], ["chromium", CHROMIUM]]) {
    assert(existsSync(p), `${what} not found at ${p}`);
  }
  const [, targetUrl] = await start(TARGET, ["--port", "0", "--max-seconds", "280"], /listening on (http:\/\/\S+)/);
  const tmp = mkdtempSync(join(tmpdir(), "rlocust-webui-"));
  const port = await freePort();
  const rl = await start(RLOCUST, ["-f", LOCUSTFILE, "--web-host", "127.0.0.1", "--web-port", String(port),
    "-H", targetUrl, "-u", "7", "-r", "3", "--html", join(tmp, "report_{u}.html")], /Starting web interface/);
  const base = `http://127.0.0.1:${port}/`;
  await answering(base);

  const { ctx, close } = await launch();
  const errors = [];
  const watch = (p, label) => {
    p.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
    p.on("console", (m) => { if (m.type() === "error") errors.push(`${label} console: ${m.text()} (${m.location().url})`); });
    p.on("requestfailed", (r) => r.url().includes("download=1") || console.log(`     request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    p.on("response", (r) => { if (r.status() >= 400) console.log(`     HTTP ${r.status()}: ${r.request().method()} ${r.url()}`); });
  };
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(15_000);
    setLastPage(page);
    watch(page, "dashboard");

    /** Another rlocust with its web UI on the target, and a page of its dashboard at the start form. */
    const another = async (locustfile, label, env = {}) => {
      const port = await freePort();
      const proc = await start(RLOCUST, ["-f", join(repo, locustfile), "--web-host", "127.0.0.1",
        "--web-port", String(port), "-H", targetUrl], /Starting web interface/, { env });
      const root = `http://127.0.0.1:${port}/`;
      await answering(root);
      const p = await ctx.newPage();
      p.setDefaultTimeout(15_000);
      watch(p, label);
      setLastPage(p);
      await p.goto(root);
      await p.waitForSelector("form.swarm-form");
      return { proc, root, page: p };
    };
    /** Closes `another`'s page and ends its rlocust with SIGTERM (exit 0 or 1). */
    const done = async ({ proc, page: p }, what) => {
      await p.close();
      setLastPage(page);
      const code = await stopChild(proc.child, "SIGTERM", 20_000);
      assert(code === 0 || code === 1, `rlocust ${what} exited ${code}`);
    };

    await step("rlocust serves the dashboard; the form shows the command line's values", async () => {
      const assets = [];
      page.on("response", (r) => { if (r.url().includes("/assets/")) assets.push([r.url(), r.status(), r.headers()["content-type"]]); });
      await page.goto(base);
      await page.waitForSelector("form.swarm-form");
      const args = await page.evaluate(() => window.templateArgs);
      assert(args.state === "ready" && args.locustfile === "demo.py" && args.host === targetUrl,
        `templateArgs ${JSON.stringify({ state: args.state, locustfile: args.locustfile, host: args.host })}`);
      assert(args.users?.ShopVisitor && args.num_users === 7 && args.spawn_rate === 3, "templateArgs users/counts");
      assert((await text(page, "#nav-state")) === "READY", "state is not READY");
      assert((await page.inputValue("#host")) === targetUrl, "host field is not -H");
      assert((await page.inputValue("#user_count")) === "7", "users field is not -u 7");
      assert((await page.inputValue("#spawn_rate")) === "3", "ramp-up field is not -r 3");
      await axeCheck(page, "start form");
      const js = assets.find(([u]) => u === base + "assets/index.js");
      const css = assets.find(([u]) => u === base + "assets/index.css");
      assert(js && js[1] === 200 && js[2].startsWith("text/javascript"), `index.js: ${js}`);
      assert(css && css[1] === 200 && css[2].startsWith("text/css"), `index.css: ${css}`);
    });

    let startedAt = 0;
    await step("start a run from the form (POST swarm)", async () => {
      await page.fill("#user_count", "20");
      await page.fill("#spawn_rate", "10");
      startedAt = Date.now() / 1000;
      await page.click("form.swarm-form button[type=submit]");
      await until(async () => /RUNNING|SPAWNING/.test(await text(page, "#nav-state")), 10_000, "RUNNING");
      await until(async () => ["spawning", "running"].includes((await apiStats(base)).state), 6000, "rlocust to run");
    });

    await step("statistics table fills and updates", async () => {
      const first = await until(() => aggregatedRequests(page), 15_000, "requests in the table");
      await until(async () => (await aggregatedRequests(page)) > first, 10_000, "the table to update");
      const names = await page.locator("#stats tbody td:nth-child(2)").allTextContents();
      for (const n of [...DEMO_NAMES, "Aggregated"]) assert(names.includes(n), `no row ${n} in ${names}`);
      await until(async () => Number(await text(page, "#nav-rps")) > 0, 6000, "navbar RPS above 0");
      // the navbar's RPS reads as the table's numbers do (at most 2 decimals, no trailing zero)
      const rps = await text(page, "#nav-rps");
      assert(/^\d+(\.\d{1,2})?$/.test(rps) && !/\.\d*0$/.test(rps), `navbar RPS ${rps}`);
      assert((await text(page, "#nav-host")) === targetUrl, "navbar host");
      await until(async () => Number(await text(page, "#nav-users")) === 20, 10_000, "20 users");
      // rlocust's own generator lag (socket wait / wait lateness p99, ms), from its /rlocust/generator
      const lag = await until(async () => (await page.locator("#nav-lag").count()) && text(page, "#nav-lag"), 10_000,
        "the generator lag in the navbar");
      // labelled without hovering; plain (neither amber nor red) at this ordinary load
      assert(/^socket \d+(\.\d)? · wait \d+(\.\d)? ms$/.test(lag.trim()), `generator lag ${lag}`);
      assert((await text(page, ".lag dt")) === "Generator lag p99", "the lag's label");
      const level = await page.locator("#nav-lag").getAttribute("class");
      const figures = await (await get(base + "rlocust/generator")).json();
      assert(!level, `the lag is ${level} at 20 users on this machine: ${JSON.stringify(figures)}`);
      const title = await page.locator("#nav-lag").locator("xpath=..").getAttribute("title");
      assert(title.includes("Socket wait") && title.includes("Wait lateness"), `lag tooltip ${title}`);
    });
    await shot(page, "rlocust-dashboard-light.png");

    await step("statistics: filter by name, column chooser, headers sorted from the keyboard", async () => {
      const names = () => page.locator("#stats tbody td:nth-child(2)").allTextContents();
      await page.fill("#stats-filter", "ITEMS");
      await until(async () => JSON.stringify(await names()) === JSON.stringify(["/items/[id]", "Aggregated"]), 5000,
        "only /items/[id] and Aggregated");
      assert((await text(page, "#stats-note")).includes(`1 of ${DEMO_NAMES.length} names match`), "filter note");
      await page.fill("#stats-filter", "");
      await until(async () => (await names()).length === DEMO_NAMES.length + 1, 5000, "every row back");
      // the column chooser hides a column, and the choice survives a reload
      const headers = () => page.locator("#stats th").allTextContents();
      await page.click("#column-chooser summary");
      await page.uncheck("input[data-column='Average size (bytes)']");
      assert(!(await headers()).includes("Average size (bytes)"), "the hidden column is still there");
      await page.reload();
      await page.waitForSelector("#stats tbody tr");
      assert(!(await headers()).includes("Average size (bytes)"), "the hidden column is back after a reload");
      await page.click("#column-chooser summary");
      await page.check("input[data-column='Average size (bytes)']");
      assert((await headers()).includes("Average size (bytes)"), "the column did not come back");
      await page.click("#column-chooser summary");
      // Tab from the filter reaches the headers; Enter and Space sort
      await page.focus("#stats-filter");
      let focused = "";
      for (let i = 0; i < 6 && focused !== "BUTTON:sort"; i++) {
        await page.keyboard.press("Tab");
        focused = await page.evaluate(() => `${document.activeElement.tagName}:${document.activeElement.className}`);
      }
      assert(focused === "BUTTON:sort", `Tab did not reach a header (at ${focused})`);
      const th = page.locator("#stats th").first();
      await page.keyboard.press("Enter");
      assert((await th.getAttribute("aria-sort")) === "ascending", "Enter did not sort");
      await page.keyboard.press(" ");
      assert((await th.getAttribute("aria-sort")) === "descending", "Space did not reverse the sort");
      await page.keyboard.press("Enter");
      assert((await th.getAttribute("aria-sort")) === null, "a third press did not unsort");
      const rows = await names();
      assert(rows.at(-1) === "Aggregated", "Aggregated is not last");
      await axeCheck(page, "statistics");
    });

    await step("tabs move with the arrow keys, Home and End", async () => {
      await page.focus("#tab-stats");
      const at = () => page.evaluate(() => [document.activeElement.id,
        document.querySelector("[role=tab][aria-selected=true]").id]);
      await page.keyboard.press("ArrowRight");
      assert(JSON.stringify(await at()) === '["tab-charts","tab-charts"]', `after ArrowRight: ${await at()}`);
      await page.keyboard.press("End");
      assert(JSON.stringify(await at()) === '["tab-logs","tab-logs"]', `after End: ${await at()}`);
      await page.keyboard.press("ArrowRight");
      assert(JSON.stringify(await at()) === '["tab-stats","tab-stats"]', `ArrowRight wraps: ${await at()}`);
      await page.keyboard.press("ArrowLeft");
      assert(JSON.stringify(await at()) === '["tab-logs","tab-logs"]', `ArrowLeft wraps: ${await at()}`);
      await page.keyboard.press("Home");
      assert(JSON.stringify(await at()) === '["tab-stats","tab-stats"]', `after Home: ${await at()}`);
      assert((await page.locator("[role=tab][tabindex='0']").count()) === 1, "more than one tab stop");
    });

    await step("charts: zero-based, latest values in the legend, first point at the start, save as PNG, zoom", async () => {
      await page.click("#tab-charts");
      // (the tab draws its charts after the click's frame)
      await until(async () => (await page.locator(".chart .uplot canvas").count()) === 3, 5000, "3 uPlot charts");
      const n = await until(() => chartPoints(page), 10_000, "chart points");
      await until(async () => (await chartPoints(page)) > n, 10_000, "a new chart point");
      await page.mouse.move(0, 0);
      const cs = await charts(page);
      checkChartsAtRest(cs, "dashboard");
      // the page was open when the test started: its first point is the start, with 0 users
      const users = cs.find((c) => c.title === "Number of Users");
      assert(Math.abs(users.t0 - startedAt) < 3 && users.first[0] === 0,
        `the users chart starts at ${users.t0} with ${users.first[0]} (started at ${startedAt})`);
      // save as image: a PNG of the chart with its title and legend
      const [download] = await Promise.all([page.waitForEvent("download"),
        page.locator(".chart").first().locator("button.save-image").click()]);
      assert(download.suggestedFilename() === "total-requests-per-second.png", `saved as ${download.suggestedFilename()}`);
      const png = join(tmp, "chart.png");
      await download.saveAs(png);
      const size = pngSize(readFileSync(png));
      const canvas = await page.locator(".chart canvas").first().evaluate((c) => [c.width, c.height]);
      assert(size.width > canvas[0] && size.height > canvas[1], `PNG ${JSON.stringify(size)} vs canvas ${canvas}`);
      // drag to zoom the time axis, then Reset zoom (and a double click) show everything again
      const over = page.locator(".chart").nth(2).locator(".u-over");
      await over.scrollIntoViewIfNeeded();
      const box = await over.boundingBox();
      assert((await page.locator("button.reset-zoom").count()) === 0, "Reset zoom before any zoom");
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.waitForSelector(".chart:nth-child(3) button.reset-zoom");
      const zoomed = (await charts(page))[2];
      assert(zoomed.xmin > zoomed.t0 && zoomed.xmax < zoomed.tLast, `not zoomed: ${JSON.stringify(zoomed)}`);
      await page.waitForTimeout(2500); // a poll while zoomed keeps the zoom
      assert((await page.locator(".chart:nth-child(3) button.reset-zoom").count()) === 1, "a poll reset the zoom");
      await page.click(".chart:nth-child(3) button.reset-zoom");
      await page.waitForSelector(".chart:nth-child(3) button.reset-zoom", { state: "detached" });
      const reset = (await charts(page))[2];
      assert(reset.xmin <= reset.t0 && reset.xmax >= reset.tLast, `zoom not reset: ${JSON.stringify(reset)}`);
      await page.mouse.move(0, 0);
      await axeCheck(page, "charts");
    });
    await shot(page, "rlocust-charts.png");

    await step("charts survive a reload (seeded from rlocust's 5 s history)", async () => {
      const points = await until(async () => {
        const h = templateArgs(await (await get(base)).text()).history;
        return h.length >= 2 && h.length;
      }, 20_000, "two history points in rlocust's index");
      await page.reload();
      await page.waitForSelector(".chart .uplot canvas");
      const history = await page.evaluate(() => window.templateArgs.history);
      assert(history.length >= points, `${history.length} history points in the page`);
      for (const k of ["time", "current_rps", "current_fail_per_sec", "user_count", "response_time_percentile_0.95"]) {
        assert(k in history[0], `history point without ${k}: ${Object.keys(history[0])}`);
      }
      assert(history.at(-1).user_count[1] === 20, `last history user_count ${JSON.stringify(history.at(-1).user_count)}`);
      assert((await chartPoints(page)) >= history.length, "the charts did not take the history");
      // the server's history begins at the test's start (users 0), so a reload keeps the ramp's start
      const first = Date.parse(history[0].time) / 1000;
      assert(Math.abs(first - startedAt) <= 2 && history[0].user_count[1] === 0,
        `history starts at ${history[0].time} with ${history[0].user_count[1]} users; the test started at ${startedAt}`);
      await page.mouse.move(0, 0);
      const cs = await charts(page);
      checkChartsAtRest(cs, "after a reload");
      assert(cs.every((c) => c.t0 === first), "the charts do not start at the history's first point");
    });
    await page.waitForTimeout(Number(env("DOCS_WAIT_SECONDS", "0")) * 1000);

    await step("About: rlocust's and Locust's versions", async () => {
      await page.click("#btn-about");
      await page.waitForSelector("#about");
      const cargo = readFileSync(join(repo, "Cargo.toml"), "utf8").match(/^version = "(.*)"$/m)[1];
      assert((await text(page, "#about-rlocust")) === cargo, `About says rlocust ${await text(page, "#about-rlocust")}`);
      assert((await text(page, "#about-locust")) === "2.47.0", "About's Locust version");
      await axeCheck(page, "About dialog");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#about", { state: "detached" });
    });

    await step("edit the user count (Edit → 5): navbar and GET stats/requests follow; the Logs box follows", async () => {
      // the Logs box opens at its newest line and follows new ones (a short box here, so that it scrolls)
      await page.addStyleTag({ content: "pre.logs { max-height: 60px !important; }" });
      await page.click("#tab-logs");
      await until(async () => (await page.locator("pre.logs").textContent()).includes("Ramping to"), 10_000,
        "'Ramping to' in the logs");
      const atEnd = () => page.locator("pre.logs").first().evaluate((el) =>
        el.scrollHeight > el.clientHeight && el.scrollHeight - el.scrollTop - el.clientHeight < 2);
      await until(atEnd, 3000, "the Logs box at its newest line");
      const lines = await page.locator("pre.logs > div").count();
      await page.click("#btn-edit");
      await page.waitForSelector(".modal #user_count");
      // (the dialog moves the focus in the frame after it is drawn)
      await until(async () => (await page.evaluate(() => document.activeElement.id)) === "user_count", 2000,
        "the dialog to take the focus");
      await axeCheck(page, "Edit dialog");
      await page.fill(".modal #user_count", "5");
      await page.click(".modal button[type=submit]");
      await page.waitForSelector(".modal", { state: "detached" });
      await until(async () => Number(await text(page, "#nav-users")) === 5, 15_000, "5 users in the navbar");
      await until(async () => (await apiStats(base)).user_count === 5, 6000, "rlocust to have 5 users");
      await until(async () => (await page.locator("pre.logs > div").count()) > lines, 12_000, "the edit's log lines");
      await until(atEnd, 3000, "the Logs box following the new lines");
      await page.click("#tab-stats");
    });

    await step("failures, exceptions, current ratio, download data and logs tabs", async () => {
      await page.click("#tab-failures");
      await until(async () => (await page.locator("#failures tbody tr").count()) > 0, 10_000, "a failure row");
      assert((await page.locator("#failures").textContent()).includes("/status/404"), "no /status/404 failure");
      await page.click("#tab-exceptions");
      await page.waitForSelector("text=No exceptions.");
      await page.click("#tab-ratios");
      await until(async () => (await page.locator(".ratios").count()) &&
        (await page.locator(".ratios").textContent()).includes("ShopVisitor"), 10_000, "ratios");
      await page.click("#tab-downloads");
      const hrefs = await page.locator(".downloads a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      for (const h of ["./stats/requests/csv", "./stats/failures/csv", "./exceptions/csv", "./stats/report?theme=light"]) {
        assert(hrefs.includes(h), `no link ${h}`);
      }
      const csv = await page.evaluate(async () => (await fetch("./stats/requests/csv")).text());
      assert(csv.startsWith("Type,Name,Request Count") && csv.includes("/items/[id]"), "requests CSV");
      await page.click("#tab-logs");
      await until(async () => (await page.locator("pre.logs").textContent()).includes("Ramping to"), 10_000,
        "'Ramping to' in the logs");
      await axeCheck(page, "logs");
      await page.click("#tab-stats");
    });

    await step("dark theme, remembered across a reload", async () => {
      await darkAcrossReload(page);
      await axeCheck(page, "statistics, dark");
      await page.click("#tab-charts");
      await page.waitForSelector(".chart .uplot canvas");
      await page.waitForTimeout(300);
      await axeCheck(page, "charts, dark");
    });
    await shot(page, "rlocust-dashboard-dark.png");
    await page.click("#btn-theme");
    await until(async () => (await page.getAttribute("html", "data-theme")) === "light", 3000, "light again");

    await step("stop (POST stop)", async () => {
      await page.click("#btn-stop");
      await until(async () => (await text(page, "#nav-state")) === "STOPPED", 10_000, "STOPPED");
      await until(async () => (await apiStats(base)).state === "stopped", 6000, "rlocust to stop");
      assert((await page.locator("#nav-lag").count()) === 0, "the generator lag stays after Stop");
    });

    let downloaded;
    await step("Download Data → the report (new tab) → Download the Report (attachment)", async () => {
      await page.click("#tab-downloads");
      const [report] = await Promise.all([ctx.waitForEvent("page", { timeout: 15_000 }),
        page.click(".downloads a[href^='./stats/report']")]);
      watch(report, "report tab");
      await report.waitForSelector("#requests tbody tr");
      assert(report.url() === base + "stats/report?theme=light", `report at ${report.url()}`);
      assert((await report.title()) === "Locust Test Report", "report title");
      const [download] = await Promise.all([report.waitForEvent("download", { timeout: 15_000 }),
        report.click("#download-report")]);
      const name = download.suggestedFilename();
      assert(/^Locust_.*\.html$/.test(name), `download file name ${name}`);
      downloaded = join(tmp, "downloaded.html");
      await download.saveAs(downloaded);
      assert(!(await download.failure()), "download failed");
      await report.close();
      // The header itself (Locust's: attachment;filename=Locust_<start>_<locustfile>_<host>.html).
      const r = await get(base + "stats/report?download=1");
      const cd = r.headers.get("content-disposition") ?? "";
      assert(/^attachment;\s*filename=Locust_\S+_demo\.py_http:\/\/127\.0\.0\.1:\d+\.html$/.test(cd),
        `Content-Disposition: ${cd}`);
      assert(r.headers.get("content-type").startsWith("text/html"), "report content type");
    });

    await step("the downloaded report opens offline (file://, network refused)", async () => {
      const opened = await openOffline(ctx, downloaded);
      const args = await checkReport(opened, { host: targetUrl, downloadLink: false });
      assert(args.is_report === true && args.show_download_link === false, "downloaded report flags");
      await axeCheck(opened.page, "report");
      await shot(opened.page, "rlocust-report.png");
      await opened.page.locator("h2", { hasText: "Charts" }).scrollIntoViewIfNeeded();
      await shot(opened.page, "rlocust-report-charts.png");
      await opened.page.close();
    });

    // The dashboard would go on asking the server that is about to exit.
    await page.goto("about:blank");
    await step("SIGTERM writes --html report_{u}.html as report_5.html, which opens offline", async () => {
      const code = await stopChild(rl.child, "SIGTERM", 20_000);
      assert(code === 0 || code === 1, `rlocust exited ${code}:\n${rl.output().slice(-2000)}`);
      const files = readdirSync(tmp).filter((f) => f.startsWith("report_"));
      assert(files.length === 1 && files[0] === "report_5.html", `--html wrote ${files}`);
      const file = join(tmp, "report_5.html");
      const args = templateArgs(readFileSync(file, "utf8"));
      for (const k of REPORT_KEYS) assert(k in args, `no ${k} in the --html report's templateArgs`);
      assert(args.is_report === true && args.show_download_link === false, "flags");
      assert(args.locustfile === "demo.py" && args.host === targetUrl, `locustfile ${args.locustfile}, host ${args.host}`);
      assert(typeof args.duration === "string" && args.start_time && args.end_time, "times");
      assert(Array.isArray(args.percentiles_to_chart) && args.percentiles_to_chart.length, "percentiles_to_chart");
      assert(args.tasks && typeof args.tasks === "object" && "per_class" in args.tasks, "tasks");
      assert(args.profile === null || typeof args.profile === "string", "profile");
      const opened = await openOffline(ctx, file, "dark");
      await checkReport(opened, { host: targetUrl, downloadLink: false });
      await axeCheck(opened.page, "report, dark");
      await opened.page.close();
    });

    await step("--web-base-path /ui: page, assets and API under /ui/", async () => {
      const p2 = await freePort();
      const rl2 = await start(RLOCUST, ["-f", LOCUSTFILE, "--web-base-path", "/ui", "--web-host", "127.0.0.1",
        "--web-port", String(p2), "-H", targetUrl], /Starting web interface/);
      const root = `http://127.0.0.1:${p2}`;
      await answering(`${root}/ui/`);
      const redirect = await get(`${root}/ui`, { redirect: "manual" });
      assert(redirect.status === 308 && redirect.headers.get("location").endsWith("/ui/"), `GET /ui: ${redirect.status}`);
      const bp = await ctx.newPage();
      bp.setDefaultTimeout(15_000);
      watch(bp, "base path");
      setLastPage(bp);
      const requests = [];
      bp.on("response", (r) => requests.push([r.request().method(), r.url(), r.status()]));
      await bp.goto(`${root}/ui/`);
      await bp.waitForSelector("form.swarm-form");
      assert((await bp.inputValue("#host")) === targetUrl, "host field");
      await bp.fill("#user_count", "2");
      await bp.fill("#spawn_rate", "2");
      await bp.click("form.swarm-form button[type=submit]");
      await until(async () => (await bp.locator("#stats tbody td:nth-child(2)").allTextContents()).includes("/me"),
        15_000, "a /me row");
      await narrowScreen(bp);
      await bp.click("#btn-stop");
      await until(async () => (await bp.locator("#nav-state").textContent()) === "STOPPED", 10_000, "STOPPED");
      assert((await bp.locator("#nav-lag").count()) === 0, "the generator lag stays after Stop");
      const urls = requests.map(([m, u, s]) => `${m} ${u} ${s}`);
      const outside = requests.filter(([, u]) => !u.startsWith(`${root}/ui/`));
      assert(outside.length === 0, `requests outside /ui/: ${JSON.stringify(outside)}`);
      for (const want of ["GET /ui/assets/index.js 200", "GET /ui/assets/index.css 200", "POST /ui/swarm 200",
        "GET /ui/stats/requests 200", "POST /ui/stop 200"]) {
        const [m, path, s] = want.split(" ");
        assert(urls.includes(`${m} ${root}${path} ${s}`), `no ${want} in ${urls.join(", ")}`);
      }
      await bp.close();
      setLastPage(page);
      const code = await stopChild(rl2.child, "SIGTERM", 20_000);
      assert(code === 0 || code === 1, `rlocust --web-base-path exited ${code}`);
    });

    await step("a LoadTestShape: the form has no counts, Start runs the shape, its end stops the test", async () => {
      const shape = await another("locustfiles/load_shape.py", "shape");
      const [rl3, sp] = [shape.proc, shape.page];
      const args = await sp.evaluate(() => window.templateArgs);
      assert(args.hide_common_options === true && args.shape_use_common_options === false, "shape args");
      assert((await sp.locator("#user_count").count()) === 0 && (await sp.locator("#spawn_rate").count()) === 0,
        "the counts are shown although the shape sets them");
      await sp.click("form.swarm-form button[type=submit]");
      // the shape ramps to 2, then 4 users, and its last tick (after 3 s) stops the test; the UI stays up
      // (seen in its log: stats/requests is memoized for 2 s and the 4 users last 1 s)
      const four = until(() => rl3.output().includes("MARK spawning_complete user_count=4"), 15_000, "the shape's 4 users");
      // as in Locust's UI: no Edit while the shape runs the test (the button disabled, with Locust's reason)
      await sp.waitForSelector("#btn-edit");
      assert(await sp.locator("#btn-edit").isDisabled(), "Edit is enabled during a LoadTestShape run");
      const why = await sp.locator("#btn-edit").locator("xpath=..").getAttribute("title");
      assert(why === "Disabled for tests using LoadTestShape class", `Edit's reason: ${why}`);
      await four;
      await until(async () => (await text(sp, "#nav-state")) === "STOPPED", 20_000, "STOPPED at the shape's end");
      assert(rl3.child.exitCode === null, "rlocust exited at the end of the shape");
      await done(shape, "with a shape");
    });

    await step("an arrival rate from the form: the open workload runs; dropped iterations in the top bar and the table", async () => {
      // each iteration's response takes 0.5 s: 3 users start at most 6 of the 20 arrivals a second, the rest drop
      const open = await another("tests/open/open_locustfile.py", "arrivals", { OPEN_DELAY_MS: "500" });
      const [rl4, op, root] = [open.proc, open.page, open.root];
      // without a plan on the command line the fields are folded away and empty
      assert(!(await op.locator("details.open-model").evaluate((d) => d.open)), "the arrival fields are unfolded");
      await op.click("details.open-model summary");
      assert((await op.inputValue("#arrival_rate")) === "", "an arrival rate is prefilled");
      await op.fill("#arrival_rate", "20/s");
      await op.fill("#arrival_max_users", "3");
      await op.fill("#arrival_initial_users", "1");
      await axeCheck(op, "start form with the arrival fields");
      await op.click("form.swarm-form button[type=submit]");
      await until(() => rl4.output().includes("Starting iterations at 20/s (at most 3 users, 1 started first)"), 10_000,
        "rlocust to log the arrival plan");
      await op.waitForSelector("section.arrivals");
      const count = async (sel) => Number((await text(op, sel)).split(" ")[0].replace(/,/g, ""));
      await until(async () => (await op.locator("#nav-dropped").count()) && (await count("#nav-dropped")) > 0, 15_000,
        "dropped iterations in the top bar");
      assert((await op.locator("#nav-dropped").getAttribute("class")) === "lag-some", "the top bar's dropped is plain");
      assert((await text(op, "#arr-schedule")) === "20/s", `schedule ${await text(op, "#arr-schedule")}`);
      assert(/^\d+ \/ 3 \/ 3$/.test((await text(op, "#arr-busy")).trim()), `busy ${await text(op, "#arr-busy")}`);
      await until(async () => (await count("#arr-dropped")) > 0, 6000, "dropped iterations in the table");
      const intended = await count("#arr-intended");
      const started = await count("#arr-started");
      assert(started > 0 && started < intended, `started ${started} of ${intended} intended`);
      assert((await text(op, ".arrivals")).includes("Started/s (intended/s)"), "the live rates");
      // the page reads what the API says
      let api = (await (await get(root + "rlocust/arrivals")).json()).arrivals;
      assert(api.schedule === "20/s" && api.max_users === 3 && api.dropped > 0, `api ${JSON.stringify(api)}`);
      await axeCheck(op, "arrivals");
      await shot(op, "rlocust-arrivals.png");
      // From here the page's answers from rlocust/arrivals arrive 4 s late, as over a slow network: each is answered
      // by the server at once and handed to the page later. The page's table now lags what the server counts, and
      // the stop's state (from /stats/requests) reaches the page before the stopped run's accounting does. The table
      // must then neither call old figures the run's nor put an older answer over a newer one.
      const LATE_MS = 4000;
      await op.route("**/rlocust/arrivals", async (route) => {
        const answer = await route.fetch();
        await new Promise((ok) => setTimeout(ok, LATE_MS));
        await route.fulfill({ response: answer }).catch(() => {});
      });
      const shown = await count("#arr-dropped");
      await until(async () => {
        api = (await (await get(root + "rlocust/arrivals")).json()).arrivals;
        return api.dropped > shown;
      }, 10_000, "more drops counted than the page shows");
      await op.click("#btn-stop");
      await until(async () => (await text(op, "#nav-state")) === "STOPPED", 10_000, "STOPPED");
      // once stopped, the table keeps the run's accounting with its average rate, and that accounting is the final
      // one: never below what the server counted while the test ran
      await until(async () => (await text(op, ".arrivals")).includes("Started/s (average)"), 6000 + LATE_MS,
        "the run's average");
      const final = await count("#arr-dropped");
      assert(final >= api.dropped, `the dropped count went down after the stop: ${final} < ${api.dropped}`);
      const stopped = (await (await get(root + "rlocust/arrivals")).json());
      assert(stopped.running === false && final === stopped.arrivals.dropped,
        `the table (${final}) is not the stopped run's accounting ${JSON.stringify(stopped.arrivals?.dropped)}`);
      await op.unroute("**/rlocust/arrivals");
      await done(open, "with an arrival rate");
    });

    await step("a streaming locustfile: the Metrics tab appears with its table and a chart per metric (issue 40)", async () => {
      const llm = await another("examples/llm/chat_stream.py", "metrics");
      const [mp, root] = [llm.page, llm.root];
      await mp.fill("#user_count", "4");
      await mp.fill("#spawn_rate", "4");
      await mp.click("form.swarm-form button[type=submit]");
      // the tab shows once the run has a metric; the statistics keep one row per request, not per token
      await mp.waitForSelector("#tab-metrics", { timeout: 15_000 });
      await mp.click("#tab-metrics");
      await mp.waitForSelector("#metrics tbody tr");
      const cells = async () => (await mp.locator("#metrics tbody td:nth-child(1)").allTextContents());
      await until(async () => {
        const got = await cells();
        return ["ttft", "itl", "e2e", "tpot", "output_tokens", "answer_chars"].every((m) => got.includes(m));
      }, 15_000, "every stream metric in the table");
      // a chart per metric once two polls came in (p50 and p95 of the last 10 s)
      await until(async () => (await mp.locator(".metrics .chart .uplot canvas").count()) >= 5, 15_000,
        "the metric charts");
      // (the rows and the statistics read together: both go on growing while the test runs)
      const api = (await (await get(root + "rlocust/metrics")).json()).metrics;
      const ttft = api.find((m) => m.metric === "ttft" && m.name === "chat");
      assert(ttft && ttft.unit === "ms" && ttft.count > 0 && ttft.percentiles["50"] >= 50, `api ${JSON.stringify(ttft)}`);
      const stats = await apiStats(root);
      const chat = stats.stats.find((r) => r.name === "chat");
      assert(chat && chat.num_requests < ttft.count * 2, `requests ${chat?.num_requests} vs streams ${ttft.count}`);
      await axeCheck(mp, "metrics tab");
      await shot(mp, "rlocust-metrics.png");
      await done(llm, "with a streaming locustfile");
    });

    await step("no JavaScript or console errors", async () => assert(errors.length === 0, errors.join("; ")));
  } finally {
    await close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await run("rlocust", main);
