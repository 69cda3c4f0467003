// What the page remembers between visits (the theme, hidden columns, the logs already seen), in localStorage.
// Storage can be off (file:// pages, a browser's privacy settings): then nothing is remembered, and nothing fails.

export function load(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function save(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not remembered
  }
}
