// `--web-login` in Chromium, side by side: Locust 2.47's own UI and rlocust's, on the same locustfiles
// (tests/web/login_locustfile.py: a user name and password and a provider link; login_form_locustfile.py: a custom
// form). For each tool: the dashboard redirects to the login page, the page shows the fields and the link the
// locustfile's auth_args ask for, a wrong password comes back with the locustfile's error, the right one opens the
// dashboard; on rlocust the dashboard then runs a test (its API calls carry the session cookie), and axe-core checks
// the login page. HTTP-level details (every route's redirect, the authArgs) are in tests/web/test_login.py.
//
//   LOCUST_BIN=.venv-oracle/bin/locust RLOCUST_BIN=target/release/rlocust RLOCUST_TARGET_BIN=... node tests/login.mjs
import { existsSync } from "node:fs";
import { join } from "node:path";
import { aggregatedRequests, answering, assert, axeCheck, CHROMIUM, env, freePort, launch, repo, run, setLastPage,
  shot, start, step, stopChild, until } from "./harness.mjs";

const LOCUST = env("LOCUST_BIN", join(repo, ".venv-oracle/bin/locust"));
const RLOCUST = env("RLOCUST_BIN", join(repo, "target/release/rlocust"));
const TARGET = env("RLOCUST_TARGET_BIN", join(repo, "target/release/rlocust-target"));
const PASSWORD_LOGIN = join(repo, "tests/web/login_locustfile.py");
const FORM_LOGIN = join(repo, "tests/web/login_form_locustfile.py");

async function main() {
  for (const [what, p] of [["Locust", LOCUST], ["rlocust", RLOCUST], ["rlocust-target", TARGET], ["chromium", CHROMIUM]]) {
    assert(existsSync(p), `${what} not found at ${p}`);
  }
  const [, targetUrl] = await start(TARGET, ["--port", "0", "--max-seconds", "230"], /listening on (http:\/\/\S+)/);
  const { ctx, close } = await launch();
  const errors = [];
  try {
    for (const [tool, bin] of [["Locust", LOCUST], ["rlocust", RLOCUST]]) {
      await step(`${tool}: the dashboard sends to the login page; a wrong password comes back; the right one logs in`, async () => {
        const port = await freePort();
        const proc = await start(bin, ["-f", PASSWORD_LOGIN, "--web-login", "--web-host", "127.0.0.1", "--web-port",
          String(port), "-H", targetUrl], /Starting web interface/);
        const root = `http://127.0.0.1:${port}`;
        await answering(`${root}/login`);
        await ctx.clearCookies(); // cookies do not tell ports apart: no session from an earlier step
        const p = await ctx.newPage();
        p.setDefaultTimeout(15_000);
        setLastPage(p);
        if (tool === "rlocust") p.on("pageerror", (e) => errors.push(`login: ${e.message}`));
        await p.goto(`${root}/`);
        await p.waitForSelector("input[name=username]");
        assert(p.url() === `${root}/login?next=%2F`, `${tool}: at ${p.url()}`);
        assert((await p.title()) === "Locust", `${tool}: title ${await p.title()}`);
        const link = p.locator("a[href='/login/sso']");
        assert((await link.count()) === 1 && (await link.textContent()).includes("Company sign-on"), `${tool}: provider`);
        if (tool === "rlocust") await axeCheck(p, "login page");
        await shot(p, `login-${tool.toLowerCase()}.png`);
        await p.fill("input[name=username]", "alice");
        await p.fill("input[name=password]", "not it");
        await Promise.all([p.waitForURL(`${root}/login`), p.click("button[type=submit]")]);
        await p.waitForSelector("text=Wrong user name or password");
        await p.click("a[href='/login/sso']");
        await p.waitForSelector("text=Company sign-on is not available in this test");
        await p.fill("input[name=username]", "alice");
        await p.fill("input[name=password]", "wonderland");
        await Promise.all([p.waitForURL(`${root}/`), p.click("button[type=submit]")]);
        if (tool === "Locust") {
          await p.waitForSelector("text=Start new load test");
        } else {
          await p.waitForSelector("form.swarm-form");
          await p.fill("#user_count", "2");
          await p.click("form.swarm-form button[type=submit]");
          await until(() => aggregatedRequests(p), 15_000, "requests in the table (API calls with the cookie)");
          // the session ends (cookie gone): the next poll is sent to the login page, and the dashboard goes there
          await ctx.clearCookies();
          // (whichever poll came first; 20 s: a fresh-clone make test, with the differential suite on the other core,
          // once took more than 10 s, 1 run in 9, while 4 local runs beside two busy cores took under 3 s)
          await p.waitForURL(/\/login\?next=%2F/, { timeout: 20_000 });
          await p.waitForSelector("input[name=username]");
        }
        await p.close();
        await stopChild(proc.child, "SIGTERM", 20_000).catch(() => {});
      });

      await step(`${tool}: a custom login form (auth_args["custom_form"])`, async () => {
        const port = await freePort();
        const proc = await start(bin, ["-f", FORM_LOGIN, "--web-login", "--web-host", "127.0.0.1", "--web-port",
          String(port), "-H", targetUrl], /Starting web interface/);
        const root = `http://127.0.0.1:${port}`;
        await answering(`${root}/login`);
        await ctx.clearCookies();
        const p = await ctx.newPage();
        p.setDefaultTimeout(15_000);
        setLastPage(p);
        await p.goto(`${root}/`);
        await p.waitForSelector("input[name=email]");
        assert((await p.getAttribute("input[name=email]", "type")) === "email", `${tool}: e-mail field type`);
        assert((await p.getAttribute("input[name=password]", "type")) === "password", `${tool}: password type`);
        assert((await p.locator("[name=team]").count()) === 1, `${tool}: no team choice`);
        assert((await p.locator("button[type=submit]").textContent()).trim() === "Sign up", `${tool}: button text`);
        if (tool === "rlocust") {
          assert((await p.getAttribute("input[name=remember]", "type")) === "checkbox", "remember me");
          await axeCheck(p, "custom login form");
        }
        await p.fill("input[name=email]", "a@example.com");
        await p.fill("input[name=password]", "one");
        await p.fill("input[name=password_again]", "two");
        await Promise.all([p.waitForURL(`${root}/login`), p.click("button[type=submit]")]);
        await p.waitForSelector("text=The passwords differ");
        await p.fill("input[name=email]", "a@example.com");
        await p.fill("input[name=password]", "same");
        await p.fill("input[name=password_again]", "same");
        await Promise.all([p.waitForURL(`${root}/`), p.click("button[type=submit]")]);
        await p.waitForSelector(tool === "Locust" ? "text=Start new load test" : "form.swarm-form");
        await p.close();
        await stopChild(proc.child, "SIGTERM", 20_000).catch(() => {});
      });
    }
    await step("no JavaScript errors on rlocust's pages", async () => assert(errors.length === 0, errors.join("; ")));
  } finally {
    await close();
  }
}

await run("login", main, 240_000);
