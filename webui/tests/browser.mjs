// Browser test of the built dashboard and report against REAL Locust 2.47 (the API is the contract).
//
//   LOCUST_BIN=.venv-oracle/bin/locust RLOCUST_TARGET_BIN=target/release/rlocust-target node tests/browser.mjs
//
// Starts the loopback target, Locust's web UI on it (demo.py) and scripts/serve.mjs (dist/ + API proxy), then in
// headless Chromium: starts a run from the form, sees the statistics table and the charts update, reloads (charts
// come back from the server history), edits the user count, switches to dark (remembered across a reload), looks
// at the other tabs, stops; then fills dist/report.html with the report args of the recorded sample and of this
// run and opens it offline (file://, every other request refused). Takes screenshots (light, dark, report).
// Every process is bounded (timeouts, killed at the end); the whole test gives up after 300 s.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractTemplateArgs, fillReport } from "../scripts/template.mjs";
import { aggregatedRequests, answering, assert, chartPoints, charts, checkChartsAtRest, CHROMIUM, env, freePort, launch, repo, run,
  setLastPage, shot, start, step, text, until, webui, darkAcrossReload } from "./harness.mjs";

const LOCUST = env("LOCUST_BIN", join(repo, ".venv-oracle/bin/locust"));
const TARGET = env("RLOCUST_TARGET_BIN", join(repo, "target/release/rlocust-target"));
const SAMPLE = env("REPORT_SAMPLE",
  join(repo, "tests/samples/locust-2.47/standalone/report_view.html.template_args.json"));
const LOCUSTFILE = join(repo, "locustfiles/demo.py");
const SHAPE = join(repo, "locustfiles/load_shape.py");
// Locust's UI's reasons (its SwarmForm and EditButton); the dashboard shows the same.
const NO_WORKERS = "You can't start a distributed test before at least one worker processes has connected";
const SHAPE_EDIT = "Disabled for tests using LoadTestShape class";

async function main() {
  for (const [what, p] of [["Locust", LOCUST], ["rlocust-target", TARGET], ["chromium", CHROMIUM]]) {
    assert(existsSync(p), `${what} not found at ${p}`);
  }
  assert(existsSync(join(webui, "dist/index.html")), "dist/ is not built (npm run build)");

  const [, targetUrl] = await start(TARGET, ["--port", "0", "--max-seconds", "280"], /listening on (http:\/\/\S+)/);
  const locustPort = await freePort();
  await start(LOCUST, ["-f", LOCUSTFILE, "--web-host", "127.0.0.1", "--web-port", String(locustPort), "-H", targetUrl],
    /Starting web interface/);
  const [, uiPort] = await start("node", [join(webui, "scripts/serve.mjs"), "--locust",
    `http://127.0.0.1:${locustPort}`, "--port", "0", "--max-seconds", "280"], /127\.0\.0\.1:(\d+)\//);
  const ui = `http://127.0.0.1:${uiPort}/`;
  const locustApi = `http://127.0.0.1:${locustPort}/`;

  const { ctx, close } = await launch();
  const errors = [];
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(15_000);
    setLastPage(page);
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("requestfailed", (r) => console.log(`     request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => { if (r.status() >= 400) console.log(`     HTTP ${r.status()}: ${r.request().method()} ${r.url()}`); });
    // rlocust's capacity search (issue 52) is asked for only where the server says it has one: never of Locust
    const searchAsked = [];
    page.on("request", (r) => { if (new URL(r.url()).pathname.endsWith("/search")) searchAsked.push(r.url()); });

    await step("start form boots from templateArgs", async () => {
      await page.goto(ui);
      await page.waitForSelector("form.swarm-form");
      assert((await text(page, "#nav-state")) === "READY", "state is not READY");
      assert((await page.inputValue("#host")) === targetUrl, "host field is not Locust's host");
    });

    await step("start a run from the form (POST swarm)", async () => {
      await page.fill("#user_count", "20");
      await page.fill("#spawn_rate", "10");
      await page.click("form.swarm-form button[type=submit]");
      await until(async () => /RUNNING|SPAWNING/.test(await text(page, "#nav-state")), 10_000, "RUNNING");
      // Locust memoizes stats/requests for 2 s, so its answer may lag.
      await until(async () => ["spawning", "running"].includes((await (await fetch(locustApi + "stats/requests")).json()).state),
        6000, "Locust to run");
    });

    await step("statistics table fills and updates", async () => {
      const first = await until(() => aggregatedRequests(page), 15_000, "requests in the table");
      await until(async () => (await aggregatedRequests(page)) > first, 10_000, "the table to update");
      const names = await page.locator("#stats tbody td:nth-child(2)").allTextContents();
      for (const n of ["/", "/items/[id]", "/me", "/status/404", "Aggregated"]) {
        assert(names.includes(n), `no row ${n} in ${names}`);
      }
      const headers = await page.locator("#stats th").allTextContents();
      assert(headers.some((h) => h.startsWith("95%ile")) && headers.some((h) => h.startsWith("99%ile")),
        `percentile columns missing: ${headers}`);
      assert(Number(await text(page, "#nav-rps")) > 0, "navbar RPS is 0");
      await until(async () => Number(await text(page, "#nav-users")) === 20, 10_000, "20 users");
      // real Locust has no /rlocust/generator: no generator lag in the navbar
      assert((await page.locator("#nav-lag").count()) === 0, "a generator lag against real Locust");
    });

    await step("sorting by a column keeps Aggregated last", async () => {
      await page.click("#stats th:nth-child(3)");
      const names = await page.locator("#stats tbody td:nth-child(2)").allTextContents();
      assert(names[names.length - 1] === "Aggregated", "Aggregated is not last");
      await page.click("#stats th:nth-child(3)");
      await page.click("#stats th:nth-child(3)");
    });
    await shot(page, "dashboard-light.png");

    await step("charts draw and grow with each poll", async () => {
      await page.click("#tab-charts");
      assert(new URL(page.url()).searchParams.get("tab") === "charts", "?tab= not kept");
      // (uPlot makes each canvas after its panel renders: a fresh-clone run counted 2 of the 3 at once)
      await until(async () => (await page.locator(".chart canvas").count()) === 3, 5000, "3 charts");
      const n = await until(() => chartPoints(page), 10_000, "chart points");
      await until(async () => (await chartPoints(page)) > n, 10_000, "a new chart point");
      await page.mouse.move(0, 0);
      checkChartsAtRest(await charts(page), "charts on Locust's numbers");
    });

    await step("charts survive a reload (seeded from the server history)", async () => {
      await until(async () => (await (await fetch(locustApi)).text()).includes('"current_rps": ['), 15_000,
        "a history snapshot in Locust's index");
      await page.reload();
      await page.waitForSelector(".chart canvas");
      assert((await chartPoints(page)) > 0, "no chart points right after reload");
    });
    // DOCS_WAIT_SECONDS=60 lets the charts fill before the screenshot (for docs/img).
    await page.waitForTimeout(Number(env("DOCS_WAIT_SECONDS", "0")) * 1000);
    await shot(page, "dashboard-charts-light.png");

    await step("edit the user count (POST swarm while running)", async () => {
      await page.click("#btn-edit");
      await page.fill(".modal #user_count", "5");
      await page.waitForTimeout(2500); // a stats poll re-renders the page: the typed value must stay
      assert((await page.inputValue(".modal #user_count")) === "5", "a poll reset the typed user count");
      await page.click(".modal button[type=submit]");
      await page.waitForSelector(".modal", { state: "detached" });
      await until(async () => Number(await text(page, "#nav-users")) === 5, 15_000, "5 users in the navbar");
      await until(async () => (await (await fetch(locustApi + "stats/requests")).json()).user_count === 5, 6000,
        "Locust to have 5 users");
    });

    await step("failures, exceptions, ratios, downloads and logs tabs", async () => {
      await page.click("#tab-failures");
      await until(async () => (await page.locator("#failures tbody tr").count()) > 0, 10_000, "a failure row");
      assert((await page.locator("#failures").textContent()).includes("/status/404"), "no /status/404 failure");
      await shot(page, "tab-failures.png");
      await page.click("#tab-exceptions");
      await page.waitForSelector("text=No exceptions.");
      await page.click("#tab-ratios");
      await until(async () => (await page.locator(".ratios").count()) &&
        (await page.locator(".ratios").textContent()).includes("ShopVisitor"), 10_000, "ratios");
      await shot(page, "tab-ratios.png");
      await page.click("#tab-downloads");
      const hrefs = await page.locator(".downloads a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
      for (const h of ["./stats/requests/csv", "./stats/failures/csv", "./exceptions/csv", "./stats/report?theme=light"]) {
        assert(hrefs.includes(h), `no link ${h}`);
      }
      const csv = await page.evaluate(async () => (await fetch("./stats/requests/csv")).text());
      assert(csv.startsWith("Type,Name,Request Count"), "requests CSV");
      await page.click("#tab-logs");
      await until(async () => (await page.locator("pre.logs").textContent()).includes("Ramping to"), 10_000, "logs");
      await shot(page, "tab-logs.png");
      await page.click("#tab-stats");
    });

    await step("dark theme, remembered across a reload", async () => {
      await darkAcrossReload(page);
    });
    await shot(page, "dashboard-dark.png");
    await page.click("#tab-charts");
    await page.waitForSelector(".chart canvas");
    await page.waitForTimeout(300);
    await shot(page, "dashboard-charts-dark.png");
    await page.click("#btn-theme");

    // The report args of this run, before the reset clears its history.
    const liveReportHtml = await (await fetch(locustApi + "stats/report")).text();
    await step("reset stats (POST stats/reset)", async () => {
      await page.click("#tab-stats");
      const before = await aggregatedRequests(page);
      await page.click("#btn-reset");
      await until(async () => (await aggregatedRequests(page)) < before, 10_000, "fewer requests after reset");
    });

    await step("stop (POST stop), then New shows the form", async () => {
      await page.click("#btn-stop");
      await until(async () => (await text(page, "#nav-state")) === "STOPPED", 10_000, "STOPPED");
      await until(async () => (await (await fetch(locustApi + "stats/requests")).json()).state === "stopped", 6000,
        "Locust to stop");
      await page.click("#btn-new");
      await page.waitForSelector(".modal form.swarm-form");
      await page.click(".modal button[type=button]");
    });

    await step("New starts a second test after the stop; Stop again", async () => {
      await page.click("#btn-new");
      await page.fill(".modal #user_count", "3");
      await page.click(".modal button[type=submit]");
      await until(async () => /RUNNING|SPAWNING/.test(await text(page, "#nav-state")), 10_000, "RUNNING again");
      await until(async () => Number(await text(page, "#nav-users")) === 3, 15_000, "3 users");
      await page.click("#tab-charts");
      const restarts = Number(await page.locator(".chart-canvas").first().getAttribute("data-restarts"));
      assert(restarts === 1, `${restarts} restart markers on the charts, expected 1`);
      await shot(page, "dashboard-charts-restart.png");
      await page.click("#tab-stats");
      await page.click("#btn-stop");
      await until(async () => (await text(page, "#nav-state")) === "STOPPED", 10_000, "STOPPED again");
    });

    await step("New with a host without a scheme: Locust's users raise requests' InvalidSchema", async () => {
      const bare = targetUrl.replace(/^http:\/\//, "");
      await page.click("#btn-new");
      await page.fill(".modal #user_count", "1");
      await page.fill(".modal #host", bare);
      await page.click(".modal button[type=submit]");
      await page.click("#tab-exceptions");
      const want = `No connection adapters were found for '${bare}/`; // demo.py posts /login first
      const shown = await until(async () => {
        const t = (await page.locator("#exceptions").count()) ? await text(page, "#exceptions") : "";
        return t.includes(want) && t;
      }, 20_000, `"${want}" in the Exceptions tab`);
      assert(shown.includes("InvalidSchema"), `exceptions: ${shown.slice(0, 300)}`);
      await page.click("#btn-stop");
      await until(async () => (await text(page, "#nav-state")) === "STOPPED", 10_000, "STOPPED");
      await page.click("#tab-stats");
    });

    await step("a LoadTestShape: Edit disabled, in Locust's own UI and in this one", async () => {
      const port = await freePort();
      await start(LOCUST, ["-f", SHAPE, "--web-host", "127.0.0.1", "--web-port", String(port), "-H", targetUrl],
        /Starting web interface/);
      await answering(`http://127.0.0.1:${port}/`);
      // Locust's own UI: Start, then its Edit button is disabled with its tooltip's reason
      const lp = await ctx.newPage();
      lp.setDefaultTimeout(15_000);
      setLastPage(lp);
      await lp.goto(`http://127.0.0.1:${port}/`);
      await lp.getByRole("button", { name: "Start" }).click();
      const edit = lp.getByRole("button", { name: "Edit" });
      await edit.waitFor();
      assert(await edit.isDisabled(), "Locust's own Edit is enabled during a shape run");
      await lp.getByRole("button", { name: "New" }).waitFor({ timeout: 20_000 }); // the shape's end stops it
      await lp.close();
      // this UI against the same Locust
      const [, p2] = await start("node", [join(webui, "scripts/serve.mjs"), "--locust", `http://127.0.0.1:${port}`,
        "--port", "0", "--max-seconds", "200"], /127\.0\.0\.1:(\d+)\//);
      const sp = await ctx.newPage();
      sp.setDefaultTimeout(15_000);
      setLastPage(sp);
      sp.on("pageerror", (e) => errors.push(`shape: ${e.message}`));
      await sp.goto(`http://127.0.0.1:${p2}/`);
      await sp.waitForSelector("#btn-new, form.swarm-form");
      if (await sp.locator("#btn-new").count()) await sp.click("#btn-new");
      await sp.click("form.swarm-form button[type=submit]");
      await sp.waitForSelector("#btn-edit");
      assert(await sp.locator("#btn-edit").isDisabled(), "Edit is enabled during a shape run");
      const why = await sp.locator("#btn-edit").locator("xpath=..").getAttribute("title");
      assert(why === SHAPE_EDIT, `Edit's reason: ${why}`);
      await until(async () => (await text(sp, "#nav-state")) === "STOPPED", 20_000, "the shape's end");
      await sp.close();
      setLastPage(page);
    });

    await step("under --web-base-path: custom options, the class picker and a class's settings reach Locust", async () => {
      const port = await freePort();
      await start(LOCUST, ["-f", `${join(repo, "locustfiles/custom_args.py")},${LOCUSTFILE}`, "--class-picker",
        "--web-base-path", "/locust", "--web-host", "127.0.0.1", "--web-port", String(port), "-H", targetUrl],
      /Starting web interface/);
      const [, p2] = await start("node", [join(webui, "scripts/serve.mjs"), "--locust", `http://127.0.0.1:${port}`,
        "--base", "/locust", "--port", "0", "--max-seconds", "200"], /127\.0\.0\.1:(\d+)\//);
      const bp = await ctx.newPage();
      bp.on("pageerror", (e) => errors.push(`base path: ${e.message}`));
      await bp.goto(`http://127.0.0.1:${p2}/locust/`);
      await bp.waitForSelector("form.swarm-form");
      await bp.fill("#opt-my_arg", "7");
      await bp.check("#opt-my_flag");
      // select-all: a tick for every class, none, and "mixed" in between (Locust's picker has one)
      const all = bp.locator("#user-classes-all");
      const picked = () => bp.locator("input[name=user_classes]:checked").count();
      const classes = await bp.locator("input[name=user_classes]").count();
      assert(classes >= 2 && (await picked()) === classes && (await all.isChecked()), "every class picked at first");
      // (each change is drawn in the frame after the click)
      await all.uncheck();
      await until(async () => (await picked()) === 0, 2000, "select-all to unpick every class");
      await all.check();
      await until(async () => (await picked()) === classes, 2000, "select-all to pick every class");
      await bp.uncheck("input[name=user_classes][value=ShopVisitor]");
      await until(() => all.evaluate((el) => el.indeterminate && !el.checked), 2000,
        "select-all to be mixed with one class unpicked");
      // The class's settings editor (POST user): weight 3, seen by Locust in its next index page.
      await bp.click("#edit-user-ArgUser");
      await bp.fill("#user-ArgUser-weight", "3");
      await bp.click(".user-editor button.save-user");
      await bp.waitForSelector(".user-editor [role=status]:text('Saved.')");
      await shot(bp, "form-class-picker.png");
      const users = JSON.parse(extractTemplateArgs(await (await fetch(`http://127.0.0.1:${port}/locust/`)).text())).users;
      assert(users.ArgUser.weight === 3, `Locust's ArgUser weight is ${users.ArgUser.weight}`);
      assert(JSON.stringify(users.ArgUser.tasks) === '["item"]', `ArgUser tasks ${JSON.stringify(users.ArgUser.tasks)}`);
      await bp.click("form.swarm-form button[type=submit]");
      await until(async () => {
        const names = await bp.locator("#stats tbody td:nth-child(2)").allTextContents();
        return names.includes("/items/7") && names.includes("flag-on") && names;
      }, 15_000, "rows /items/7 and flag-on");
      const names = await bp.locator("#stats tbody td:nth-child(2)").allTextContents();
      assert(!names.includes("/me"), "ShopVisitor ran although it was not picked");
      await bp.click("#btn-stop");
      await until(async () => (await bp.locator("#nav-state").textContent()) === "STOPPED", 10_000, "STOPPED");
      await bp.close();
    });

    await step("distributed: the worker count and the Workers tab", async () => {
      const [webPort, zmqPort] = [await freePort(), await freePort()];
      await start(LOCUST, ["-f", LOCUSTFILE, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
        String(zmqPort), "--web-host", "127.0.0.1", "--web-port", String(webPort), "-H", targetUrl],
      /Starting web interface/);
      const [, p3] = await start("node", [join(webui, "scripts/serve.mjs"), "--locust", `http://127.0.0.1:${webPort}`,
        "--port", "0", "--max-seconds", "200"], /127\.0\.0\.1:(\d+)\//);
      const dp = await ctx.newPage();
      dp.on("pageerror", (e) => errors.push(`distributed: ${e.message}`));
      await dp.goto(`http://127.0.0.1:${p3}/`);
      await dp.waitForSelector("form.swarm-form");
      assert((await dp.locator("#nav-workers").textContent()) === "0", "workers before any connected");
      // no worker yet: Start disabled with Locust's reason, here and in Locust's own UI
      assert(await dp.locator("form.swarm-form button[type=submit]").isDisabled(), "Start enabled without workers");
      assert((await dp.locator("#form-error").textContent()) === NO_WORKERS, "the reason for a disabled Start");
      const own = await ctx.newPage();
      await own.goto(`http://127.0.0.1:${webPort}/`);
      const ownStart = own.getByRole("button", { name: "Start" });
      await ownStart.waitFor();
      assert(await ownStart.isDisabled(), "Locust's own Start is enabled without workers");
      await own.getByText(NO_WORKERS).waitFor();
      await own.close();
      await start(LOCUST, ["-f", LOCUSTFILE, "--worker", "--master-host", "127.0.0.1", "--master-port", String(zmqPort)],
        /./);
      await until(async () => (await dp.locator("#nav-workers").textContent()) === "1", 15_000, "1 worker (worker-count poll)");
      await until(async () => !(await dp.locator("form.swarm-form button[type=submit]").isDisabled()), 5000,
        "Start enabled with a worker");
      await dp.fill("#user_count", "4");
      await dp.fill("#spawn_rate", "4");
      await dp.click("form.swarm-form button[type=submit]");
      await dp.click("#tab-workers");
      setLastPage(dp);
      await until(async () => (await dp.locator("#workers tbody tr").count()) === 1 &&
        (await dp.locator("#workers tbody td:nth-child(3)").textContent()) === "4", 15_000, "a worker row with 4 users");
      await shot(dp, "tab-workers.png");
      await dp.click("#btn-stop");
      await dp.close();
      setLastPage(page);
    });

    const reportTemplate = readFileSync(join(webui, "dist/report.html"), "utf8");
    const reports = [["this run (Locust's /stats/report args)", JSON.parse(extractTemplateArgs(liveReportHtml)),
      "report-light.png", "light"]];
    // the recorded sample is part of the repository (tests/samples): reading it fails the test when it is missing
    reports.push(["recorded sample", JSON.parse(readFileSync(SAMPLE, "utf8")), "report-dark.png", "dark"]);
    const hostile = JSON.parse(JSON.stringify(reports[0][1]));
    const evil = "</script><script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'> & __RLOCUST_THEME__";
    hostile.failures_statistics.push({ method: "GET", name: evil, error: evil, occurrences: 1,
      first_seen: 1795332666.1, last_seen: 1795332667.2 });
    hostile.host = evil;
    reports.push(["hostile strings stay text", hostile, null, "light"]);
    const dir = mkdtempSync(join(tmpdir(), "rlocust-report-"));
    for (const [label, args, img, theme] of reports) {
      await step(`report offline (file://): ${label}`, async () => {
        const file = join(dir, `${theme}.html`);
        writeFileSync(file, fillReport(reportTemplate, args, theme));
        const rpage = await ctx.newPage();
        const outside = [];
        await rpage.route("**/*", (r) => {
          if (r.request().url().startsWith("file:")) return r.continue();
          outside.push(r.request().url());
          return r.abort();
        });
        rpage.on("pageerror", (e) => errors.push(`report: ${e.message}`));
        await rpage.emulateMedia({ colorScheme: theme });
        await rpage.evaluate(() => localStorage.clear()).catch(() => {});
        await rpage.goto("file://" + file);
        await rpage.waitForSelector("#requests tbody tr");
        const rows = await rpage.locator("#requests tbody tr").count();
        assert(rows === args.requests_statistics.length, `${rows} rows, expected ${args.requests_statistics.length}`);
        assert((await rpage.locator("#response-times tbody tr").count()) === args.response_time_statistics.length,
          "response time rows");
        assert((await rpage.locator(".chart canvas").count()) === (args.history.length ? 3 : 0), "report charts");
        assert(Number(await rpage.locator(".chart-canvas").first().getAttribute("data-points")) === args.history.length,
          "chart points != history length");
        assert((await rpage.locator("#during").textContent()).includes(args.duration), "duration");
        if (args.history.length) checkChartsAtRest(await charts(rpage), `report: ${label}`);
        assert((await rpage.getAttribute("html", "data-theme")) === theme, `theme is not ${theme}`);
        assert(outside.length === 0, `the report requested ${outside}`);
        assert((await rpage.evaluate(() => window.__pwned)) === undefined, "injected script ran");
        if (args === hostile) {
          assert((await rpage.locator("#failures").textContent()).includes("</script><script>"), "hostile text not shown");
        }
        if (img) await shot(rpage, img);
        await rpage.close();
      });
    }
    rmSync(dir, { recursive: true, force: true });

    await step("no JavaScript errors", async () => assert(errors.length === 0, errors.join("; ")));
    await step("no capacity search asked of Locust, no Capacity tab or search fields", async () => {
      assert(searchAsked.length === 0, `asked: ${searchAsked.join(", ")}`);
      assert(await page.locator("#tab-capacity, #capacity, .search-fields").count() === 0, "capacity search UI on Locust");
    });
  } finally {
    await close();
  }
}

await run("browser", main);
