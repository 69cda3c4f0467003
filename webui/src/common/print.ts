// Printing (or saving as PDF): style.css prints in light colours whatever the theme and lets tables wrap; the
// uPlot charts are canvases, so while printing they are redrawn at the page's width (not cut, not shrunk to tiny
// text) in the light colours, and restored after. `beforeprint`/`afterprint` come with a browser's print; the
// print media query's change also comes with emulated print media (the tests).
import type uPlot from "uplot";

/** Fits A4 and Letter within style.css's 10 mm page margins. */
const PRINT_WIDTH = 660;
const HEIGHT = 260;
const charts = new Map<uPlot, HTMLElement>();
let printing = false;
let theme: string | undefined;

/** A chart's size now: its box's width on screen, at most the page's while printing. */
export function chartSize(el: HTMLElement) {
  const w = el.clientWidth;
  return { width: printing ? Math.min(w || PRINT_WIDTH, PRINT_WIDTH) : Math.max(w, 300), height: HEIGHT };
}

function setPrinting(on: boolean) {
  if (on === printing) return;
  printing = on;
  const root = document.documentElement.dataset;
  if (on) {
    theme = root.theme;
    root.theme = "light";
  } else if (theme) root.theme = theme;
  charts.forEach((el, u) => {
    u.setSize(chartSize(el));
    u.redraw(false); // the axes' colours (read at each draw)
  });
}

/** Keeps `u` (drawn in `el`) sized for print; returns the undo. */
export function trackChart(u: uPlot, el: HTMLElement): () => void {
  charts.set(u, el);
  return () => charts.delete(u);
}

addEventListener("beforeprint", () => setPrinting(true));
addEventListener("afterprint", () => setPrinting(false));
matchMedia("print").addEventListener("change", (e) => setPrinting(e.matches));
