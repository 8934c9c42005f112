import { useEffect, useState } from "preact/hooks";
import { apiGet, HttpError } from "./api";
import { ConfigSection } from "./config/config-section";
import { duration } from "./format";
import { ModelsSection } from "./models/models-section";
import { PlaygroundSection } from "./playground/playground-section";
import { TrafficSection } from "./traffic/traffic-section";
import type { Overview, WhoAmI } from "./types";
import { usePoll } from "./use-poll";

/** How often the overview (models, config state) is fetched: disk changes show within a second. */
const OVERVIEW_POLL_MS = 1000;

const SECTIONS = [
  { id: "models", title: "Models" },
  { id: "config", title: "Config" },
  { id: "traffic", title: "Traffic" },
  { id: "playground", title: "Playground" },
] as const;
type SectionId = (typeof SECTIONS)[number]["id"];

function sectionFromHash(): SectionId {
  const id = location.hash.replace(/^#/, "");
  return SECTIONS.find((s) => s.id === id)?.id ?? "models";
}

interface Props {
  who: WhoAmI;
  onSignOut(notice?: string): void;
}

export function Shell({ who, onSignOut }: Props) {
  const [section, setSection] = useState<SectionId>(sectionFromHash);
  const overview = usePoll(() => apiGet<Overview>("overview"), OVERVIEW_POLL_MS);
  useEffect(() => {
    const onHash = () => setSection(sectionFromHash());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  useEffect(() => {
    // The key was removed from keys.yaml (or demoted) while the page was open.
    const err = overview.error;
    if (err instanceof HttpError && (err.status === 401 || err.status === 403) && !who.open) onSignOut(err.message);
  }, [overview.error]);
  const data = overview.data;
  return (
    <div class="shell">
      <header class="top">
        <div class="brand">
          <strong>Understudy</strong>
          <span class="muted">admin</span>
        </div>
        <div class="status-line">
          {data && (
            <>
              <span class={`badge ${data.config.status === "ok" ? "ok" : "bad"}`} data-testid="config-badge">
                config {data.config.status === "ok" ? "ok" : `${data.config.problems.length} problem(s)`}
              </span>
              <span class="muted">
                v{data.version} · up {duration(data.uptime_s)}
              </span>
            </>
          )}
          {overview.error && (
            <span class="badge bad" role="status">
              offline: {overview.error.message}
            </span>
          )}
          <span class="muted who">{who.open ? "open server" : `key ${who.key ?? ""}`}</span>
          {!who.open && (
            <button type="button" class="link" onClick={() => onSignOut()}>
              Sign out
            </button>
          )}
        </div>
        <nav aria-label="Sections">
          {SECTIONS.map((s) => (
            <a key={s.id} href={`#${s.id}`} aria-current={section === s.id ? "page" : undefined}>
              {s.title}
            </a>
          ))}
        </nav>
      </header>
      <main class="content">
        {section === "models" && <ModelsSection overview={data} refresh={overview.refresh} />}
        {section === "config" && <ConfigSection overview={data} />}
        {section === "traffic" && <TrafficSection />}
        {section === "playground" && <PlaygroundSection models={data?.models ?? []} />}
      </main>
    </div>
  );
}
