// rlocust's own "generator lag" in the top bar (GET rlocust/generator; docs/observability.md "Generator
// lateness"): how late this generator itself was, in ms since the last reset. Real Locust has no such route, so
// against it the item never shows.
//
// What the colour says. The three delays (response bytes waiting in the socket, responses waiting for the Python
// thread, users resuming after their waits) all push a user's next request later. Their typical size (p50),
// added up, against a user's cycle (users / requests per second, Little's law) is the share of the intended load
// the generator did not deliver on time:
// - amber at 5 % of the cycle, or a p99 of 250 ms: the load runs measurably behind its schedule;
// - red at 20 % of the cycle, or a p99 of 1 s: the generator, not the target, sets the pace (or its Python thread
//   stalls: a blocking call in the locustfile).
// A machine that is merely busy (other processes, a build beside the test) adds scheduler delays of a few to a few
// tens of ms at the tail while the users' cycles are hundreds of ms to seconds: that stays plain, as it should;
// the numbers stay visible. Saturating on purpose (no wait_time, a throughput test) turns it red: there the
// figures measure the generator.
import type { GeneratorLateness } from "../common/types";

/** rlocust's shape (anything else: a proxy's or a locustfile's own route of that name). */
export function isLateness(v: unknown): v is GeneratorLateness {
  const o = v as Record<string, Record<string, unknown>> | null;
  return ["socket_wait_ms", "response_handling_delay_ms", "wait_lateness_ms"]
    .every((k) => ["count", "p50", "p99", "max"].every((f) => typeof o?.[k]?.[f] === "number"));
}

function ms(v: number): string {
  return v < 10 ? v.toFixed(1) : String(Math.round(v));
}

/** "" (fine), "lag-some" (amber) or "lag-high" (red), by the rules above. */
export function lagLevel(l: GeneratorLateness, users: number, rps: number): string {
  const p99 = Math.max(l.socket_wait_ms.p99, l.response_handling_delay_ms.p99, l.wait_lateness_ms.p99);
  const typical = l.socket_wait_ms.p50 + l.response_handling_delay_ms.p50 + l.wait_lateness_ms.p50;
  const cycleMs = users > 0 && rps > 0 ? (1000 * users) / rps : Infinity;
  const share = typical / cycleMs;
  if (share >= 0.2 || p99 >= 1000) return "lag-high";
  if (share >= 0.05 || p99 >= 250) return "lag-some";
  return "";
}

function title(l: GeneratorLateness): string {
  const line = (name: string, d: { count: number; p50: number; p99: number; max: number }) =>
    `${name}: p50 ${ms(d.p50)} ms, p99 ${ms(d.p99)} ms, max ${ms(d.max)} ms (${d.count})`;
  return [
    "How late this generator was, since the last reset (amber: users 5% behind schedule, red: 20%)",
    line("Socket wait", l.socket_wait_ms),
    line("Response handling", l.response_handling_delay_ms),
    line("Wait lateness", l.wait_lateness_ms),
  ].join("\n");
}

/** The top bar's item: "Lag p99" with the socket wait and the wait lateness, each labelled. */
export function LagItem({ l, users, rps }: { l: GeneratorLateness | null; users: number; rps: number }) {
  if (!l || (l.socket_wait_ms.count === 0 && l.wait_lateness_ms.count === 0)) return null;
  return (
    <div class="lag" title={title(l)}>
      <dt>Generator lag p99</dt>
      <dd id="nav-lag" class={lagLevel(l, users, rps)}>
        <span class="lag-part">socket {ms(l.socket_wait_ms.p99)}</span>
        {" · "}
        <span class="lag-part">wait {ms(l.wait_lateness_ms.p99)} ms</span>
      </dd>
    </div>
  );
}
