// `npm run build`: the dashboard into dist/ (index.html + assets/index.js + assets/index.css, stable names) and
// the report as ONE self-contained dist/report.html (its JS and CSS inlined). Output is deterministic, so
// `scripts/check-build.sh` can compare a fresh build with the committed one.
import { build } from "vite";
import { readFileSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const tmp = join(root, ".build-tmp");
const PLACEHOLDER = "__RLOCUST_TEMPLATE_ARGS__";
const THEME = "__RLOCUST_THEME__";

function config(entry, outDir, name) {
  return {
    root,
    configFile: false,
    logLevel: "warn",
    base: "./",
    // JSX compiles to Preact's h(type, props, ...children) rather than the automatic runtime's
    // jsx(type, {...props, children: [...]}): the same vnodes, 2.3 KB less script (measured on the dashboard).
    // tsconfig.json keeps the automatic runtime: the types are the same and no file has to import h for tsc.
    oxc: { jsx: { runtime: "classic", pragma: "h", pragmaFrag: "Fragment" },
      jsxInject: `import { h, Fragment } from "preact"` },
    build: {
      outDir,
      emptyOutDir: true,
      target: "es2020",
      // browsers from 2023 on: system-ui and color-scheme as written (no polyfill expansions)
      cssTarget: ["chrome111", "firefox115", "safari16.4"],
      modulePreload: false,
      reportCompressedSize: false,
      rollupOptions: {
        input: join(root, entry),
        output: {
          entryFileNames: `assets/${name}.js`,
          chunkFileNames: `assets/${name}-[name].js`,
          assetFileNames: `assets/${name}[extname]`,
        },
      },
    },
  };
}

function once(text, needle, what) {
  const n = text.split(needle).length - 1;
  if (n !== 1) throw new Error(`${what}: expected ${needle} exactly once, found ${n}`);
}

// The bundles are minified without comments: the MIT notices of the packages they contain go into each built
// file that leaves the repository (the dashboard's script, the report) and into THIRD_PARTY_LICENSES.txt.
const noticesOf = (pkgs) => "This file contains:\n\n" + pkgs.map((pkg) => {
  const meta = JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8"));
  const text = readFileSync(join(root, "node_modules", pkg, "LICENSE"), "utf8").trim();
  return `${meta.name} ${meta.version} (${meta.license})\n\n${text}\n`;
}).join("\n====\n\n");
const notices = noticesOf(["preact", "uplot"]);
if (/\*\/|-->/.test(notices)) throw new Error("a licence text would end its comment");

await build(config("index.html", dist, "index"));
const indexJs = join(dist, "assets/index.js");
writeFileSync(indexJs, `/*!\n${notices}*/\n` + readFileSync(indexJs, "utf8"));
writeFileSync(join(dist, "THIRD_PARTY_LICENSES.txt"),
  notices.replace("This file contains:", "assets/index.js and report.html contain (assets/auth.js: Preact):"));
const indexHtml = readFileSync(join(dist, "index.html"), "utf8");
once(indexHtml, PLACEHOLDER, "dist/index.html");
// The login page of --web-login (Locust's auth.html): its own bundle (assets/auth.js), the dashboard's stylesheet.
const AUTH = "__RLOCUST_AUTH_ARGS__";
await build(config("auth.html", tmp, "auth"));
const authJs = readFileSync(join(tmp, "assets/auth.js"), "utf8");
if (authJs.includes(AUTH)) throw new Error("auth bundle contains its placeholder");
writeFileSync(join(dist, "assets/auth.js"), `/*!\n${noticesOf(["preact"])}*/\n` + authJs);
let authHtml = readFileSync(join(tmp, "auth.html"), "utf8");
authHtml = authHtml.replace(/(<script type="module" crossorigin src="\.\/assets\/auth\.js"><\/script>)/,
  (m) => `${m}\n    <link rel="stylesheet" crossorigin href="./assets/index.css">`);
if (!authHtml.includes("./assets/index.css")) throw new Error("auth.html: no stylesheet link");
if (/assets\/auth\.css/.test(authHtml)) throw new Error("auth.html: a stylesheet of its own");
once(authHtml, AUTH, "dist/auth.html");
writeFileSync(join(dist, "auth.html"), authHtml);
rmSync(tmp, { recursive: true, force: true });

await build(config("report.html", tmp, "report"));
const js = readFileSync(join(tmp, "assets/report.js"), "utf8");
const cssText = readFileSync(join(tmp, "assets/report.css"), "utf8");
if (/<\/script/i.test(js) || /<\/style/i.test(cssText)) throw new Error("report bundle contains a closing tag");
if (js.includes(PLACEHOLDER) || js.includes(THEME)) throw new Error("report bundle contains a placeholder");
let html = readFileSync(join(tmp, "report.html"), "utf8");
html = html.replace(/\s*<script type="module" crossorigin src="\.\/assets\/report\.js"><\/script>/, "");
html = html.replace(/\s*<link rel="stylesheet" crossorigin href="\.\/assets\/report\.css">/, "");
if (html.includes("assets/report")) throw new Error("report.html: an asset reference was not inlined");
// Functions as replacement values: the bundle may contain `$&`-like sequences.
html = html.replace("<!doctype html>", () => `<!doctype html>\n<!--\n${notices}-->`);
html = html.replace("</head>", () => `  <style>${cssText}</style>\n  </head>`);
html = html.replace("</body>", () => `  <script type="module">${js}</script>\n  </body>`);
once(html, PLACEHOLDER, "report.html");
once(html, THEME, "report.html");
mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, "report.html"), html);
rmSync(tmp, { recursive: true, force: true });


for (const f of ["index.html", "auth.html", "assets/index.js", "assets/index.css", "assets/auth.js", "report.html"]) {
  console.log(`${f.padEnd(18)} ${readFileSync(join(dist, f)).length} bytes`);
}
