// The class picker's per-class settings (host, weight, fixed count, tasks), saved with `POST user` (§1.3.7).
// Its inputs have no `name`, so the swarm form around it does not send them.
import { useRef, useState } from "preact/hooks";
import type { UserClassSettings } from "../common/types";
import { postJson } from "./api";

export function UserClassEditor(props: {
  name: string;
  settings: UserClassSettings;
  allTasks: string[];
  onSaved: (s: UserClassSettings) => void;
}) {
  const { name, settings, allTasks } = props;
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState("");
  const id = (f: string) => `user-${name}-${f}`;

  const save = async () => {
    const el = box.current!;
    const value = (f: string) => (el.querySelector<HTMLInputElement>(`#${CSS.escape(id(f))}`)?.value ?? "").trim();
    const tasks = [...el.querySelectorAll<HTMLInputElement>("input[data-task]")].filter((b) => b.checked)
      .map((b) => b.dataset.task!);
    const body: Record<string, unknown> = { user_class_name: name, tasks };
    if (value("host")) body.host = value("host");
    if (value("weight") !== "") body.weight = Number(value("weight"));
    if (value("fixed_count") !== "") body.fixed_count = Number(value("fixed_count"));
    setStatus("Saving…");
    try {
      await postJson("user", body);
      setStatus("Saved.");
      props.onSaved({ ...settings, ...body });
    } catch (e) {
      setStatus(`Not saved: ${e instanceof Error ? e.message : e}`);
    }
  };

  return (
    <div class="user-editor" ref={box}>
      <div class="field">
        <label for={id("host")}>Host</label>
        <input id={id("host")} type="text" defaultValue={settings.host ?? ""} placeholder="(the run's host)" />
      </div>
      <div class="row">
        <div class="field">
          <label for={id("weight")}>Weight</label>
          <input id={id("weight")} type="number" min="0" step="1" defaultValue={String(settings.weight ?? 1)} />
        </div>
        <div class="field">
          <label for={id("fixed_count")}>Fixed count</label>
          <input id={id("fixed_count")} type="number" min="0" step="1" defaultValue={String(settings.fixed_count ?? 0)} />
        </div>
      </div>
      {allTasks.length ? (
        <div class="field">
          <span class="label">Tasks</span>
          {allTasks.map((t) => (
            <label class="check">
              <input type="checkbox" data-task={t} defaultChecked={!settings.tasks || settings.tasks.includes(t)} /> {t}
            </label>
          ))}
        </div>
      ) : null}
      <div class="actions">
        <button type="button" class="save-user" onClick={save}>Save {name}</button>
        {status ? <span class="help" role="status">{status}</span> : null}
      </div>
    </div>
  );
}
