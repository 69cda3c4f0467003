// The About dialog (Locust's footer has one): what this dashboard is, the versions, where to read more. rlocust's own
// version comes from its `GET rlocust/version`; against real Locust (no such route) only Locust's version shows.
import { useEffect, useState } from "preact/hooks";
import { getJson } from "./api";
import { Dialog } from "./dialog";

interface Versions {
  rlocust: string;
  locust: string;
}

export function About({ locustVersion, onClose }: { locustVersion: string; onClose: () => void }) {
  const [v, setV] = useState<Versions | null>(null);
  useEffect(() => {
    getJson<Versions>("rlocust/version").then((r) => typeof r?.rlocust === "string" && setV(r)).catch(() => {});
  }, []);
  const locust = v?.locust || locustVersion;
  return (
    <Dialog title="About" onClose={onClose} id="about">
      <p>A Rust engine for Locust's locustfiles; this dashboard speaks Locust's web API.</p>
      <dl class="versions">
        {v ? <div><dt>rlocust</dt><dd id="about-rlocust">{v.rlocust}</dd></div> : null}
        <div><dt>Locust API</dt><dd id="about-locust">{locust || "unknown"}</dd></div>
      </dl>
      <p>
        Locust (MIT License): <a href="https://docs.locust.io/en/stable/">documentation</a>,{" "}
        <a href="https://github.com/locustio/locust">GitHub</a>.
      </p>
    </Dialog>
  );
}
