// Development and test server: serves the BUILT dashboard (dist/) and forwards every API call to a running
// Locust (or rlocust) web UI, so this UI can be driven against real Locust 2.47.
//
//   node scripts/serve.mjs --locust http://127.0.0.1:8089 [--port 18090] [--base /locust] [--max-seconds 1800]
//
// `--base` mirrors Locust's --web-base-path (give both the same). `GET <base>/` fetches the upstream page,
// takes its `window.templateArgs = {...}` line and puts that JSON into
// dist/index.html's placeholder, exactly as the Rust server fills it. `<base>/assets/*` come from dist/; anything else
// (stats/requests, swarm, stop, CSVs, stats/report, …) is proxied. Loopback only; it exits after --max-seconds.
import http from "node:http";
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { extractTemplateArgs } from "./template.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const opt = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const upstream = new URL(opt("locust", "http://127.0.0.1:8089"));
const port = Number(opt("port", "18090"));
const maxSeconds = Number(opt("max-seconds", "1800"));
const base = opt("base", "").replace(/\/$/, "");
const TYPES = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8" };

function proxy(req, res) {
  const up = http.request(
    { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method,
      headers: { ...req.headers, host: upstream.host }, timeout: 20000 },
    (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    },
  );
  up.on("timeout", () => up.destroy(new Error("upstream timeout")));
  up.on("error", (e) => {
    if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
    res.end(String(e));
  });
  req.pipe(up);
}

async function index(res) {
  const ctl = AbortSignal.timeout(10000);
  const page = await (await fetch(new URL(`${base}/`, upstream), { signal: ctl })).text();
  const args = extractTemplateArgs(page);
  const html = readFileSync(join(dist, "index.html"), "utf8").replace("__RLOCUST_TEMPLATE_ARGS__", () => args);
  res.writeHead(200, { "Content-Type": TYPES[".html"], "Cache-Control": "no-cache" });
  res.end(html);
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://x").pathname;
  if (req.method === "GET" && path === `${base}/`) {
    index(res).catch((e) => {
      res.writeHead(502, { "Content-Type": "text/plain" });
      res.end(String(e));
    });
  } else if (req.method === "GET" && path.startsWith(`${base}/assets/`)) {
    const file = normalize(join(dist, path.slice(base.length)));
    if (!file.startsWith(join(dist, "assets"))) return res.writeHead(403).end();
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "Content-Type": TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream",
        "Cache-Control": "no-cache" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  } else {
    proxy(req, res);
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`serving dist/ at http://127.0.0.1:${server.address().port}${base}/ (API → ${upstream.origin})`);
});
setTimeout(() => {
  console.log("max-seconds reached, exiting");
  process.exit(0);
}, maxSeconds * 1000).unref();
