// Requests to Locust's API. Every URL is relative to the page, so the dashboard works under --web-base-path
// (the page is `<base>/`, the API `<base>/stats/requests`, …). Every request has a time limit.
import { useEffect, useRef, useState } from "preact/hooks";

const TIMEOUT_MS = 15000;

async function request(path: string, init?: RequestInit): Promise<Response> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(path, { ...init, signal: ctl.signal, credentials: "same-origin" });
    // --web-login: a session that ended sends every call to the login page; so does the page itself
    if (res.redirected && new URL(res.url).pathname.endsWith("/login")) location.assign(res.url);
    if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${path}: HTTP ${res.status}`);
    return res;
  } finally {
    clearTimeout(timer);
  }
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request(path, { headers: { Accept: "application/json" } })).json() as Promise<T>;
}

/** The JSON of `path` and the response's headers. */
export async function getJsonAndHeaders<T>(path: string): Promise<[T, Headers]> {
  const res = await request(path, { headers: { Accept: "application/json" } });
  return [(await res.json()) as T, res.headers];
}

export interface SwarmReply {
  success: boolean;
  message: string;
  host?: string | null;
  run_time?: number;
}

/** POST swarm, form-urlencoded with Locust's snake_case field names (§1.3.1). */
export async function postSwarm(form: URLSearchParams): Promise<SwarmReply> {
  const res = await request("swarm", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  });
  return res.json();
}

/** POST user: a JSON body, answered `{}` with 201 (§1.3.7). */
export async function postJson(path: string, body: unknown): Promise<Response> {
  return request(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

export async function post(path: string): Promise<Response> {
  return request(path, { method: "POST" });
}

/**
 * Calls `fn` at once when `enabled` turns true (if `immediate`), then every `ms` after the previous call has
 * finished (calls never overlap); stops when `enabled` turns false or the component goes away.
 */
export function usePoll(fn: () => Promise<unknown>, ms: number, enabled: boolean, immediate = true) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await latest.current();
      } catch {
        // shown by the caller; keep polling
      }
      if (alive) timer = setTimeout(tick, ms);
    };
    if (immediate) tick();
    else timer = setTimeout(tick, ms);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [enabled, ms]);
}

/**
 * `path`'s JSON while `wanted`: every `ms` while `live`, and once whenever it is wanted while not live (a tab
 * opened after the run, or the run that just ended, is not left empty or stale).
 */
export function useJson<T>(path: string, ms: number, wanted: boolean, live: boolean): T | null {
  const [value, setValue] = useState<T | null>(null);
  const seq = useSequence();
  const load = async () => {
    const n = seq.next();
    const got = await getJson<T>(path);
    if (seq.take(n)) setValue(got);
  };
  usePoll(load, ms, wanted && live);
  useEffect(() => {
    if (wanted && !live) load().catch(() => {});
  }, [wanted, live]);
  return value;
}

/**
 * Numbers a hook's requests as they go out: `take(n)` is false for an answer when the answer to a later request
 * was taken already. A poll sent while the test ran and answered after the fetch made at the stop would otherwise
 * put the older figures back on the page.
 */
function useSequence() {
  const seq = useRef({ sent: 0, taken: 0 });
  return {
    next: () => ++seq.current.sent,
    take: (n: number) => {
      if (n < seq.current.taken) return false;
      seq.current.taken = n;
      return true;
    },
  };
}

/**
 * One of rlocust's own routes beside Locust's API, polled every `ms` while `enabled`: null until it answers, and
 * for good once it fails or answers with anything `is` refuses (Locust itself; a proxy's or a locustfile's route
 * of that name). Also its setter and a fetch now.
 */
export function useOwnRoute<T>(path: string, is: (v: unknown) => v is T, ms: number, enabled: boolean):
  [T | null, (v: T | null) => void, () => Promise<void>] {
  const [value, setValue] = useState<T | null>(null);
  const there = useRef(true);
  const seq = useSequence();
  const fetchNow = async () => {
    if (!there.current) return;
    const n = seq.next();
    try {
      const got = await getJson<unknown>(path);
      if (!is(got)) throw new Error(`${path}: not rlocust's`);
      if (seq.take(n)) setValue(got);
    } catch {
      there.current = false;
      setValue(null);
    }
  };
  usePoll(fetchNow, ms, enabled);
  return [value, setValue, fetchNow];
}
