// Browser test of the dashboard's guard rails and notes as RLOCUST's own server serves them (issue 30):
//
//   RLOCUST_BIN=target/release/rlocust RLOCUST_TARGET_BIN=target/release/rlocust-target node tests/guards.mjs
//
// - a master with no worker: Start is disabled with Locust's reason until a worker connects (as Locust's UI does,
//   checked against Locust's own UI in tests/browser.mjs);
// - more names than the API sends: the Statistics tab says "Showing 500 of 600 names";
// - a host without a scheme typed into the form: the users' requests raise requests' InvalidSchema, as under
//   Locust (the same text in tests/browser.mjs against Locust).
// Every process is bounded (timeouts, killed at the end); the whole test gives up after 240 s.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { answering, assert, axeCheck, CHROMIUM, env, freePort, launch, repo, run, setLastPage, start, step, stopChild,
  text, until } from "./harness.mjs";

const RLOCUST = env("RLOCUST_BIN", join(repo, "target/release/rlocust"));
const TARGET = env("RLOCUST_TARGET_BIN", join(repo, "target/release/rlocust-target"));
const LOCUSTFILE = join(repo, "locustfiles/demo.py");
const NO_WORKERS = "You can't start a distributed test before at least one worker processes has connected";

const MANY_NAMES = `from locust import HttpUser, constant, task


class Many(HttpUser):
    wait_time = constant(0.5)

    @task
    def many(self):
        for i in range(600):
            self.client.get("/", name=f"/n/{i:03d}")
`;

async function main() {
  for (const [what, p] of [["rlocust", RLOCUST], ["rlocust-target", TARGET], ["chromium", CHROMIUM]]) {
    assert(existsSync(p), `${what} not found at ${p}`);
  }
  const [, targetUrl] = await start(TARGET, ["--port", "0", "--max-seconds", "230"], /listening on (http:\/\/\S+)/);
  const tmp = mkdtempSync(join(tmpdir(), "rlocust-guards-"));
  const { ctx, close } = await launch();
  const errors = [];
  const page = async (label) => {
    const p = await ctx.newPage();
    p.setDefaultTimeout(15_000);
    p.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
    setLastPage(p);
    return p;
  };
  try {
    await step("a master without workers: Start disabled with Locust's reason, enabled once a worker connects", async () => {
      const [web, zmq] = [await freePort(), await freePort()];
      const master = await start(RLOCUST, ["-f", LOCUSTFILE, "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", String(zmq), "--web-host", "127.0.0.1", "--web-port", String(web), "-H", targetUrl],
      /Starting web interface/);
      const root = `http://127.0.0.1:${web}/`;
      await answering(root);
      const p = await page("master");
      await p.goto(root);
      await p.waitForSelector("form.swarm-form");
      const submit = p.locator("form.swarm-form button[type=submit]");
      assert(await submit.isDisabled(), "Start is enabled on a master with no worker");
      assert((await text(p, "#form-error")) === NO_WORKERS, `the reason: ${await text(p, "#form-error")}`);
      assert((await text(p, "#nav-workers")) === "0", "workers");
      await axeCheck(p, "master without workers");
      const worker = await start(RLOCUST, ["-f", LOCUSTFILE, "--worker", "--master-host", "127.0.0.1",
        "--master-port", String(zmq)], /./);
      await until(async () => (await text(p, "#nav-workers")) === "1", 20_000, "1 worker");
      await until(async () => !(await submit.isDisabled()), 5000, "Start enabled");
      assert((await p.locator("#form-error").count()) === 0, "the reason stays with a worker");
      await p.fill("#user_count", "2");
      await p.fill("#spawn_rate", "2");
      await submit.click();
      await until(async () => Number(await text(p, "#nav-users")) === 2, 20_000, "2 users through the worker");
      await p.click("#btn-stop");
      await until(async () => (await text(p, "#nav-state")) === "STOPPED", 15_000, "STOPPED");
      await p.close();
      await stopChild(worker.child, "SIGTERM", 20_000).catch(() => {});
      await stopChild(master.child, "SIGTERM", 20_000).catch(() => {});
    });

    await step("600 names: the Statistics tab says only 500 are shown", async () => {
      const file = join(tmp, "many_names.py");
      writeFileSync(file, MANY_NAMES);
      const web = await freePort();
      const rl = await start(RLOCUST, ["-f", file, "--web-host", "127.0.0.1", "--web-port", String(web), "-H",
        targetUrl, "--autostart", "-u", "1", "-r", "1", "-t", "60"], /Starting web interface/);
      const root = `http://127.0.0.1:${web}/`;
      await answering(root);
      const p = await page("names");
      await p.goto(root);
      await p.waitForSelector("#stats");
      const note = await until(async () => {
        const t = await text(p, "#stats-note");
        return t.includes("of 600 names") && t;
      }, 30_000, "the note about 600 names");
      assert(note.startsWith("Showing 500 of 600 names"), `note: ${note}`);
      const rows = await p.locator(".table-wrap.windowed").evaluate((el) => Math.round(el.scrollHeight / 33));
      assert(rows >= 500 && rows < 510, `${rows} rows' height in the table`);
      // the filter works on what was sent, and says how many match
      await p.fill("#stats-filter", "/n/00");
      await until(async () => (await text(p, "#stats-note")).startsWith("10 of 500 names match"), 5000,
        "10 of 500 names match");
      await p.close();
      await stopChild(rl.child, "SIGTERM", 20_000).catch(() => {});
    });

    await step("a host without a scheme from the form: requests' InvalidSchema, as under Locust", async () => {
      const web = await freePort();
      const rl = await start(RLOCUST, ["-f", LOCUSTFILE, "--web-host", "127.0.0.1", "--web-port", String(web)],
        /Starting web interface/);
      const root = `http://127.0.0.1:${web}/`;
      await answering(root);
      const p = await page("no scheme");
      await p.goto(root);
      await p.waitForSelector("form.swarm-form");
      const bare = targetUrl.replace(/^http:\/\//, "");
      await p.fill("#host", bare);
      await p.fill("#user_count", "1");
      await p.fill("#spawn_rate", "1");
      await p.click("form.swarm-form button[type=submit]");
      await p.click("#tab-exceptions");
      const want = `No connection adapters were found for '${bare}/`; // demo.py posts /login first
      const shown = await until(async () => {
        const t = (await p.locator("#exceptions").count()) ? await text(p, "#exceptions") : "";
        return t.includes(want) && t;
      }, 20_000, `"${want}" in the Exceptions tab`);
      assert(shown.includes("InvalidSchema"), `exceptions: ${shown.slice(0, 300)}`);
      assert(!shown.includes("MissingSchema"), "MissingSchema");
      await p.click("#btn-stop");
      await p.close();
      await stopChild(rl.child, "SIGTERM", 20_000).catch(() => {});
    });

    await step("no JavaScript errors", async () => assert(errors.length === 0, errors.join("; ")));
  } finally {
    await close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await run("guards", main, 240_000);
