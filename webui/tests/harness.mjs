// What the browser tests share: bounded child processes, named steps, polling, screenshots, a headless Chromium
// and opening a report from file:// with the network refused. Not a test itself (`node --test tests/` only runs
// *.test.mjs). Every test process that imports it gives up after `limitMs` (300 s) and kills its children.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

export const webui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repo = resolve(webui, "..");
export const env = (k, d) => process.env[k] || d;
export const CHROMIUM = env("CHROMIUM_BIN", "/usr/bin/chromium");
// Screenshots go to test-results/ (git-ignored); SCREENSHOT_DIR=../docs/img refreshes the README's pictures.
export const IMG = resolve(webui, env("SCREENSHOT_DIR", "test-results"));

const children = [];
let passed = 0;
let failed = 0;
let lastPage = null; // screenshot on a failed step

/** The page to photograph when a step fails. */
export function setLastPage(page) {
  lastPage = page;
}

function cleanup() {
  // SIGTERM: `timeout` passes it on to its command (a SIGKILL would orphan the command).
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
}

/**
 * Starts `cmd args` (under `timeout 290`, stdout and stderr piped) and resolves with the first match of
 * `waitFor` in its output (30 s at most). The child is killed at the end of the test. `child` and `output()`
 * are on the returned match as `.child` and `.output`.
 */
export function start(cmd, args, waitFor, { readyMs = 30_000, env = {} } = {}) {
  const child = spawn("timeout", ["290", cmd, ...args], { stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env } });
  children.push(child);
  let out = "";
  let ready = false;
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${cmd}: not ready in ${readyMs / 1000} s:\n${out}`)), readyMs);
    const on = (d) => {
      out += d;
      const m = ready ? null : waitFor.exec(out);
      if (m) {
        ready = true;
        clearTimeout(timer);
        m.child = child;
        m.output = () => out;
        ok(m);
      }
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.on("exit", (code) => fail(new Error(`${cmd} exited ${code}:\n${out}`)));
  });
}

/** Sends `signal` to a child started by `start` and waits (at most `ms`) for its exit code. */
export function stopChild(child, signal = "SIGTERM", ms = 20_000) {
  return new Promise((ok, fail) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok(child.exitCode ?? child.signalCode);
    const timer = setTimeout(() => fail(new Error(`no exit ${ms / 1000} s after ${signal}`)), ms);
    child.once("exit", (code, sig) => {
      clearTimeout(timer);
      ok(code ?? sig);
    });
    child.kill(signal); // `timeout` passes SIGTERM and SIGINT on to its command
  });
}

export async function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => ok(p));
    });
  });
}

export async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split("\n")[0]}`);
    if (lastPage && !lastPage.isClosed()) {
      mkdirSync(IMG, { recursive: true });
      await lastPage.screenshot({ path: join(IMG, "failure.png"), timeout: 5000 }).catch(() => {});
      console.log(`     page at the failure: ${join(IMG, "failure.png")}`);
    }
    throw e;
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** Polls `fn` until it returns a truthy value (returned) or `ms` passes. */
export async function until(fn, ms, what) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** `fetch` with a 10 s limit. */
export function get(url, init = {}) {
  return fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
}

/** Waits (at most `ms`) until `url` answers at all: a web UI logs its address before it listens. */
export async function answering(url, ms = 15_000) {
  return until(() => get(url, { redirect: "manual" }).then((r) => r.status, () => 0), ms, `${url} to answer`);
}

export async function shot(page, name) {
  mkdirSync(IMG, { recursive: true });
  const path = join(IMG, name);
  await page.screenshot({ path });
  const kb = statSync(path).size / 1024;
  console.log(`     screenshot ${name}: ${kb.toFixed(0)} KB`);
  assert(kb < 200, `${name} is ${kb.toFixed(0)} KB (limit 200)`);
}

export const text = (page, sel) => page.locator(sel).first().textContent({ timeout: 5000 });
/** The Aggregated row's request count in the dashboard's statistics table (0 before it exists). */
export const aggregatedRequests = async (page) => {
  const cell = page.locator("#stats tr.total td:nth-child(3)");
  return (await cell.count()) ? Number(await cell.textContent()) : 0;
};
/** How many points the first chart holds (its `data-points`). */
export const chartPoints = async (page) => {
  const el = page.locator(".chart-canvas").first();
  return (await el.count()) ? Number(await el.getAttribute("data-points")) : 0;
};

/** A headless Chromium with a fresh profile (removed by `close()`), 1280x800, light. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "rlocust-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
    colorScheme: "light",
    acceptDownloads: true,
    timeout: 30_000,
  });
  const close = async () => {
    await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { ctx, close };
}

/** A new page of `ctx` (10 s timeouts, photographed when a step fails) and the page errors it collects. */
export async function testPage(ctx) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  setLastPage(page);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  return { page, errors };
}

/**
 * Opens a report file from file:// in a new page of `ctx` with every other request refused (aborted). Returns
 * the page, the URLs it tried to reach (`outside`) and its errors (page errors and console errors).
 */
export async function openOffline(ctx, file, theme = "light") {
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  const outside = [];
  const errors = [];
  await page.route("**/*", (r) => {
    if (r.request().url().startsWith("file:")) return r.continue();
    outside.push(r.request().url());
    return r.abort();
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()} (${m.location().url})`); });
  await page.emulateMedia({ colorScheme: theme });
  await page.goto("file://" + file);
  return { page, outside, errors };
}

/**
 * Runs `main` as a test: prints each step, kills every child at the end, gives up after `limitMs`, sets the
 * exit code (1 if a step failed, 2 on the time limit).
 */
export async function run(name, main, limitMs = 300_000) {
  const t0 = Date.now();
  const hardStop = setTimeout(() => {
    console.error(`${name}: ${limitMs / 1000} s limit reached`);
    cleanup();
    process.exit(2);
  }, limitMs);
  try {
    await main();
  } catch (e) {
    if (!failed) {
      failed++;
      console.log(`FAIL setup: ${e.message}`);
    }
  } finally {
    cleanup();
    clearTimeout(hardStop);
    console.log(`${name}: ${passed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    process.exitCode = failed ? 1 : 0;
  }
}

/** Switches the dashboard to dark and checks the choice survives a reload (the stats come back too). */
export async function darkAcrossReload(page) {
  const theme = () => page.getAttribute("html", "data-theme");
  await page.click("#btn-theme");
  await until(async () => (await theme()) === "dark", 3000, "dark");
  await page.reload();
  await page.waitForSelector("#stats");
  await until(async () => (await theme()) === "dark", 3000, "dark after reload");
  await until(() => aggregatedRequests(page), 10_000, "stats after reload");
}

/**
 * axe-core (npm, test-only) on the page as it is now: every violation is printed; a serious or critical one fails
 * the step. `label` names the state checked.
 */
export async function axeCheck(page, label) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ path: join(webui, "node_modules/axe-core/axe.min.js") });
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = found.filter((v) => v.impact === "serious" || v.impact === "critical");
  console.log(`     axe (${label}): ${found.length} violations, ${bad.length} serious or critical`);
  for (const v of found) console.log(`       ${v.impact} ${v.id}: ${v.help} (${v.nodes.join(", ")})`);
  assert(bad.length === 0, `axe (${label}): ${bad.map((v) => `${v.id} at ${v.nodes[0]}`).join("; ")}`);
}

/**
 * What the uPlot charts on the page show: per chart its title, the y scale, the x range of its data, its first
 * values and the legend's texts (value cells), read from the uPlot instance the chart keeps on its element.
 */
export async function charts(page) {
  return page.locator(".chart-canvas").evaluateAll((els) => els.map((el) => {
    const u = el.uplot;
    const values = [...el.querySelectorAll(".u-legend .u-series")].map((tr) => tr.querySelector("td")?.textContent ?? "");
    return {
      title: el.closest(".chart").querySelector("h3").textContent,
      ymin: u.scales.y.min, ymax: u.scales.y.max, xmin: u.scales.x.min, xmax: u.scales.x.max,
      t0: u.data[0][0], tLast: u.data[0][u.data[0].length - 1], first: u.data.slice(1).map((s) => s[0]),
      legend: values, cursor: u.cursor.idx,
    };
  }));
}

/** Zero-based y axes, and legend values (not uPlot's "--") for every series, without the pointer on a chart. */
export function checkChartsAtRest(cs, what) {
  assert(cs.length === 3, `${what}: ${cs.length} charts`);
  for (const c of cs) {
    assert(c.ymin === 0, `${what}: "${c.title}" y axis starts at ${c.ymin}`);
    assert(c.ymax > 0, `${what}: "${c.title}" y axis ends at ${c.ymax}`);
    assert(c.legend.length >= 2 && c.legend.every((v) => v && v !== "--"),
      `${what}: "${c.title}" legend ${JSON.stringify(c.legend)}`);
  }
}

/** Width and height of a PNG file's image (its IHDR), or throws when the bytes are not a PNG. */
export function pngSize(bytes) {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert(sig.every((b, i) => bytes[i] === b), "not a PNG");
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
