// Light and dark: follows the OS until the user picks one, which is remembered in localStorage.
import { useEffect, useState } from "preact/hooks";
import { load, save } from "./store";

const KEY = "rlocust.theme";

function stored(): string | null {
  const v = load(KEY);
  return v === "light" || v === "dark" ? v : null;
}

function osTheme(): string {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** `initial` (the report's `window.theme`, as the server was asked for it) wins over a stored choice and the OS. */
export function useTheme(initial?: string): [string, () => void] {
  const [theme, setTheme] = useState(
    () => (initial === "dark" || initial === "light" ? initial : stored() ?? osTheme()));

  // Set while rendering, not in an effect: the charts (children, whose effects run first) read the colours.
  document.documentElement.dataset.theme = theme;

  useEffect(() => {
    const mq = window.matchMedia?.("(prefers-color-scheme: dark)");
    if (!mq) return;
    const follow = () => { if (!stored()) setTheme(osTheme()); };
    mq.addEventListener("change", follow);
    return () => mq.removeEventListener("change", follow);
  }, []);

  const toggle = () => {
    const next = theme === "dark" ? "light" : "dark";
    save(KEY, next); // switched even when it cannot be remembered
    setTheme(next);
  };
  return [theme, toggle];
}
