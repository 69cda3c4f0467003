// The placeholder contract (README "Contract with the Rust server"), checked on the built files:
//   node --test tests/
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { escapeJson, extractTemplateArgs, fillIndex, fillReport } from "../scripts/template.mjs";

const dist = join(dirname(fileURLToPath(import.meta.url)), "../dist");
const read = (f) => readFileSync(join(dist, f), "utf8");
const count = (s, needle) => s.split(needle).length - 1;

test("index.html: one args placeholder in a classic script, relative asset paths", () => {
  const html = read("index.html");
  assert.equal(count(html, "__RLOCUST_TEMPLATE_ARGS__"), 1);
  assert.match(html, /<script>window\.templateArgs = __RLOCUST_TEMPLATE_ARGS__;<\/script>/);
  assert.match(html, /src="\.\/assets\/index\.js"/);
  assert.match(html, /href="\.\/assets\/index\.css"/);
  assert.doesNotMatch(html, /(src|href)="\/(?!\/)/, "no absolute asset path (would break --web-base-path)");
});

test("report.html: both placeholders once, everything inlined", () => {
  const html = read("report.html");
  assert.equal(count(html, "__RLOCUST_TEMPLATE_ARGS__"), 1);
  assert.equal(count(html, "__RLOCUST_THEME__"), 1);
  assert.match(html, /window\.templateArgs = __RLOCUST_TEMPLATE_ARGS__; window\.theme = "__RLOCUST_THEME__";/);
  assert.doesNotMatch(html, /<script[^>]+src=/);
  assert.doesNotMatch(html, /<link[^>]+stylesheet/);
  // Without an icon of its own, a report served over HTTP makes the browser ask for /favicon.ico (a 404).
  assert.match(html, /<link rel="icon" href="data:image\/svg\+xml,/);
  // 91 KB before issue 42, plus its comparison section and print support (~8 KB), plus issue 52's capacity search
  // section (headline, probe table, two charts: 7.4 KB, 100,484 -> 107,852 bytes); a ceiling, not a target.
  assert.ok(html.length < 110_000, `report template is ${html.length} bytes`);
});

test("escaping keeps hostile strings inside the script and the JSON intact", () => {
  const args = { msg: "</script><script>alert(1)</script> & __RLOCUST_THEME__ \u2028", n: 1.5 };
  const out = escapeJson(JSON.stringify(args));
  assert.doesNotMatch(out, /[<>&\u2028]/);
  assert.deepEqual(JSON.parse(out), args);
  const html = fillReport(read("report.html"), args, "dark");
  assert.equal(count(html, "</script>"), 2, "only the two real script ends");
  assert.match(html, /window\.theme = "dark"/);
  assert.deepEqual(JSON.parse(extractTemplateArgs(html)), args);
  assert.equal(count(fillReport(read("report.html"), args, "<evil>"), 'window.theme = "light"'), 1);
});

test("fillIndex round-trips Locust's index args", () => {
  const args = { state: "ready", host: "http://a/?x=<b>&y", history: [], percentiles_to_chart: [0.5, 0.95] };
  const html = fillIndex(read("index.html"), args);
  assert.deepEqual(JSON.parse(extractTemplateArgs(html)), args);
});
