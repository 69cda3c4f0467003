// The start / edit form. It posts `swarm` with the field names Locust's server reads (§1.3.1): user_count,
// spawn_rate, host, run_time, profile, user_classes (repeated), shape_class, and each custom option by its name.
// NOTE: fields are uncontrolled (defaultValue/defaultChecked): the page re-renders on every 2 s poll, and a
// `value` prop would put back the initial value over what the user is typing.
// rlocust's capacity search (`templateArgs.search_form`): `search` (the mode), `slo`, `search_start`, `search_max`,
// `search_probe_time`, `search_warmup`, `search_precision`, `search_budget`, `search_levels`, and as the command line
// asks `arrival_max_users` (arrival-rate) or `spawn_rate` (users), instead of `user_count` and the arrival rate;
// only the fields given are sent, and none without a search.
import { useEffect, useRef, useState } from "preact/hooks";
import type { ComponentChildren, JSX } from "preact";
import type { ArrivalsResponse, ExtraOption, IndexArgs } from "../common/types";
import { timespan } from "../common/format";
import { postSwarm, SwarmReply } from "./api";
import { UserClassEditor } from "./user";

/** A labelled input whose id and form field are `name`; `children` follow it (help). */
function Input({ label, children, ...input }: { label: string; name: string; children?: ComponentChildren }
  & Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "label">) {
  return (
    <div class="field">
      <label for={input.name}>{label}</label>
      <input id={input.name} {...input} />
      {children}
    </div>
  );
}

function ExtraField({ name, opt }: { name: string; opt: ExtraOption }) {
  const id = `opt-${name}`;
  const label = <label for={id}>{name}</label>;
  const help = opt.help_text ? <small class="help">{opt.help_text}</small> : null;
  const def = opt.default_value;
  if (typeof def === "boolean") {
    return (
      <div class="field check">
        <input type="checkbox" id={id} data-bool={name} defaultChecked={def} />
        {label}
        {help}
      </div>
    );
  }
  if (opt.choices && opt.choices.length) {
    const selected = Array.isArray(def) ? def.map(String) : [String(def ?? "")];
    return (
      <div class="field">
        {label}
        <select id={id} name={name} multiple={!!opt.is_multiple} required={!!opt.is_required}>
          {opt.choices.map((c) => <option value={c} selected={selected.includes(c)}>{c}</option>)}
        </select>
        {help}
      </div>
    );
  }
  const value = Array.isArray(def) ? def.join(",") : def === null || def === undefined ? "" : String(def);
  return (
    <div class="field">
      {label}
      <input id={id} name={name} type={opt.is_secret ? "password" : "text"} defaultValue={value}
        required={!!opt.is_required} autocomplete="off" />
      {help}
    </div>
  );
}

/** rlocust's open workload: an arrival rate given here runs instead of the number of users (cleared: users). */
function ArrivalFields({ plan }: { plan: ArrivalsResponse["plan"] }) {
  const [on, setOn] = useState(!!plan);
  return (
    <details class="advanced open-model" open={on} onToggle={(e) => setOn((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>Arrival rate (open workload, instead of the number of users)</summary>
      <small class="help">Iterations start at this rate on idle users however long earlier ones take; when the
        maximum of users are busy they are counted as dropped, never delayed. Leave the rate empty to run users.</small>
      <Input label="Arrival rate (e.g. 50, 50/s, 3000/m)" name="arrival_rate" type="text"
        defaultValue={plan?.arrival_rate ?? ""} autocomplete="off" />
      <Input label="Stages (e.g. 30s:100, 2m:100, 30s:0)" name="arrival_stages" type="text"
        defaultValue={plan?.arrival_stages ?? ""} autocomplete="off" />
      <Input label="Max users" name="arrival_max_users" type="number" min="1" step="1"
        defaultValue={plan ? String(plan.max_users) : ""} />
      <Input label="Initial users" name="arrival_initial_users" type="number" min="0" step="1"
        defaultValue={plan ? String(plan.initial_users) : ""} />
    </details>
  );
}

/** The fields of a capacity search (besides `search`, the mode), sent only when given. */
const SEARCH_FIELDS = ["slo", "search_start", "search_max", "search_probe_time", "search_warmup", "search_precision",
  "search_budget", "search_levels", "arrival_max_users"];

/**
 * rlocust's capacity search: the highest level that meets the SLO, found by probes (instead of a fixed load). The
 * placeholders are the command line's defaults (`--search-start` 10, …), which an empty field keeps.
 */
function SearchFields({ mode, onMode }: { mode: string; onMode: (m: string) => void }) {
  const unit = mode === "users" ? "users" : "per second";
  return (
    <details class="advanced search-fields" open={!!mode}>
      <summary>Capacity search (the highest load that meets an SLO)</summary>
      <div class="field">
        <label for="search">Search</label>
        <select id="search" name="search" onChange={(e) => onMode((e.currentTarget as HTMLSelectElement).value)}>
          <option value="" selected={!mode}>No search (the load above)</option>
          <option value="arrival-rate" selected={mode === "arrival-rate"}>Arrival rate (open model)</option>
          <option value="users" selected={mode === "users"}>Users (closed model)</option>
        </select>
      </div>
      {mode ? (
        <>
          <Input label="SLO (the --thresholds rules, e.g. p95<500; fail_ratio<0.01)" name="slo" type="text" required
            autocomplete="off" placeholder="p95<500; fail_ratio<0.01" />
          <div class="row">
            <Input label={`Start (${unit})`} name="search_start" type="number" min="0" step="any" placeholder="10" />
            <Input label={`Maximum (${unit})`} name="search_max" type="number" min="0" step="any" />
          </div>
          <div class="row">
            <Input label="Probe time (e.g. 20s, 1m)" name="search_probe_time" type="text" autocomplete="off" placeholder="20s" />
            <Input label="Warm-up per level" name="search_warmup" type="text" autocomplete="off" placeholder="5s" />
          </div>
          <div class="row">
            <Input label="Precision (0.05 or 5%)" name="search_precision" type="text" autocomplete="off" placeholder="5%" />
            <Input label="Most probes" name="search_budget" type="number" min="2" step="1" placeholder="15" />
          </div>
          <Input label="Levels instead of a search (e.g. 50,100,200,400)" name="search_levels" type="text" autocomplete="off" />
          {mode === "arrival-rate" ? (
            <Input label="Max users in flight" name="arrival_max_users" type="number" min="1" step="1" required />
          ) : null}
          <small class="help">Empty fields take the server's defaults. The run ends with the search.</small>
        </>
      ) : null}
    </details>
  );
}

export function SwarmForm(props: {
  args: IndexArgs;
  /** Edit: only users and ramp-up (plus nothing else Locust changes mid-run). */
  edit?: boolean;
  current: { users: number; spawnRate: number; host: string };
  /** `search`: a capacity search was started. */
  onStarted: (reply: SwarmReply, users: number, spawnRate: number, search: boolean) => void;
  onCancel?: () => void;
  /** A LoadTestShape sets the counts: they are not asked for. */
  hideCommon: boolean;
  /** The class picker's shape class changed. */
  onShapeChange?: (shape: string) => void;
  /** Why the form may not be sent now (Locust's: a master without workers); "" when it may. */
  disabledReason?: string;
  /** rlocust's `rlocust/arrivals` (null: a server without it, e.g. Locust): the arrival-rate fields. */
  open?: ArrivalsResponse | null;
}) {
  const { args, edit, current, hideCommon } = props;
  const [busy, setBusy] = useState(false);
  const [searchMode, setSearchMode] = useState("");
  const searching = !!searchMode && !!args.search_form && !edit && !hideCommon;
  const [error, setError] = useState("");
  const available = args.available_user_classes ?? [];
  const [picked, setPicked] = useState<string[]>(available);
  const all = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (all.current) all.current.indeterminate = picked.length > 0 && picked.length < available.length;
  }, [picked]);
  const extras = Object.entries(args.extra_options ?? {});
  const [editing, setEditing] = useState<string | null>(null);
  const [users, setUsers] = useState(args.users ?? {});
  const uniqueTasks = (c: string) =>
    [...new Set([...(args.available_user_tasks?.[c] ?? []), ...(args.users?.[c]?.tasks ?? [])])];

  const submit = async (e: Event) => {
    e.preventDefault();
    const formEl = e.currentTarget as HTMLFormElement;
    const data = new URLSearchParams();
    for (const [k, v] of new FormData(formEl).entries()) {
      if (typeof v === "string") data.append(k, v);
    }
    // A checkbox sends nothing when unchecked; Locust's server reads "true"/anything else for booleans.
    formEl.querySelectorAll<HTMLInputElement>("input[data-bool]").forEach((box) => {
      data.set(box.dataset.bool!, box.checked ? "true" : "false");
    });
    if (!data.get("search")) data.delete("search");
    else for (const k of SEARCH_FIELDS) if (data.get(k) === "") data.delete(k);
    setBusy(true);
    setError("");
    try {
      const reply = await postSwarm(data);
      if (!reply.success) setError(reply.message || "The server refused the swarm request.");
      else props.onStarted(reply, Number(data.get("user_count") ?? current.users),
        Number(data.get("spawn_rate") ?? current.spawnRate), data.has("search"));
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="swarm-form" onSubmit={submit}>
      <h2>{edit ? "Edit running load test" : "Start new load test"}</h2>
      {!hideCommon ? (
        <>
          {!searching ? (
            <Input label="Number of users (peak concurrency)" name="user_count" type="number" min="0" step="1" required
              defaultValue={String(current.users)} />
          ) : null}
          {!searching || searchMode === "users" ? (
            <Input label="Ramp up (users started/second)" name="spawn_rate" type="number" min="0" step="any" required
              defaultValue={String(current.spawnRate)} />
          ) : null}
        </>
      ) : null}
      {props.open && !hideCommon && !searching ? <ArrivalFields plan={props.open.plan} /> : null}
      {args.search_form && !hideCommon && !edit ? <SearchFields mode={searchMode} onMode={setSearchMode} /> : null}
      {!edit ? (
        <>
          <Input label="Host" name="host" type="text" defaultValue={current.host} required={!!args.is_host_required}
            placeholder="https://example.com">
            {args.override_host_warning ? (
              <small class="help">Setting a host here overrides the host of the User classes.</small>
            ) : null}
          </Input>
          {args.show_userclass_picker ? (
            <fieldset class="picker">
              <legend>User classes</legend>
              <label class="check select-all">
                <input type="checkbox" id="user-classes-all" ref={all} checked={picked.length === available.length && available.length > 0}
                  onChange={(e) => setPicked((e.currentTarget as HTMLInputElement).checked ? available : [])} />
                {" "}All user classes
              </label>
              {available.map((c) => (
                <div class="user-class">
                  <label class="check">
                    <input type="checkbox" name="user_classes" value={c} checked={picked.includes(c)}
                      onChange={() => setPicked(picked.includes(c) ? picked.filter((p) => p !== c) : available.filter((a) => a === c || picked.includes(a)))} />
                    {" "}{c}
                  </label>
                  <button type="button" class="link" id={`edit-user-${c}`} aria-expanded={editing === c}
                    aria-label={`Settings of ${c}`} onClick={() => setEditing(editing === c ? null : c)}>settings</button>
                  {editing === c ? (
                    <UserClassEditor name={c} settings={users[c] ?? {}} allTasks={uniqueTasks(c)}
                      onSaved={(u) => setUsers({ ...users, [c]: u })} />
                  ) : null}
                </div>
              ))}
              {args.available_shape_classes?.length ? (
                <div class="field">
                  <label for="shape_class">Shape class</label>
                  <select id="shape_class" name="shape_class"
                    onChange={(e) => props.onShapeChange?.((e.currentTarget as HTMLSelectElement).value)}>
                    {args.available_shape_classes.map((s) => <option value={s}>{s}</option>)}
                  </select>
                </div>
              ) : null}
            </fieldset>
          ) : null}
          <details class="advanced">
            <summary>Advanced options</summary>
            {!hideCommon ? (
              <Input label="Run time (e.g. 20, 20s, 3m, 2h, 1h20m, 3h30m10s)" name="run_time" type="text"
                defaultValue={timespan(args.run_time)} />
            ) : null}
            <Input label="Profile" name="profile" type="text" defaultValue={args.profile ?? ""} />
          </details>
          {extras.length ? (
            <fieldset class="custom">
              <legend>Custom parameters</legend>
              {extras.map(([name, opt]) => <ExtraField name={name} opt={opt} />)}
            </fieldset>
          ) : null}
        </>
      ) : null}
      {error || props.disabledReason ? <p class="error" role="alert" id="form-error">{error || props.disabledReason}</p> : null}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || !!props.disabledReason}>{edit ? "Update" : "Start"}</button>
        {props.onCancel ? <button type="button" onClick={props.onCancel}>Cancel</button> : null}
      </div>
    </form>
  );
}
