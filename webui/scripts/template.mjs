// How the Rust server fills the built templates (the contract in webui/README.md), for tests and tools.
// The JSON goes into a <script>, so `<`, `>` and `&` are written as \u003c, \u003e, \u0026 (as Jinja's tojson
// does); the result stays valid JSON and JavaScript, and cannot close the script element.
export function escapeJson(json) {
  return json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function fillIndex(html, args) {
  return html.replace("__RLOCUST_TEMPLATE_ARGS__", () => escapeJson(JSON.stringify(args)));
}

export function fillReport(html, args, theme = "light") {
  // The theme first: the JSON may itself contain the text of a placeholder.
  return html
    .replace("__RLOCUST_THEME__", () => (theme === "dark" ? "dark" : "light"))
    .replace("__RLOCUST_TEMPLATE_ARGS__", () => escapeJson(JSON.stringify(args)));
}

/**
 * The JSON of `window.templateArgs = …` in a page Locust rendered (its Jinja writes it on one line) or one filled
 * by `fillIndex`/`fillReport`. The escaped JSON holds no `</script>` and no line break, so the match is exact.
 */
export function extractTemplateArgs(html) {
  const m = /window\.templateArgs\s*=\s*(\{.*?\})\s*;?\s*(?:window\.theme = "[a-z]*";\s*)?(?:<\/script>|$)/m.exec(html);
  if (!m) throw new Error("no window.templateArgs in the page");
  return m[1];
}
