// The login page of `--web-login` (Locust's auth.html): rendered from `window.authArgs`, which the server fills
// with the locustfile's `environment.web_ui.auth_args` (snake_case, as Locust's template gets them) plus the
// session's `error` and `info`. The forms post to the locustfile's own routes, as on Locust's page:
// - `username_password_callback`: a username and a password field;
// - `custom_form`: `{inputs: [{label, name, type, default_value, choices, is_multiple, is_secret, is_required}],
//   callback_url, submit_button_text}` (a checkbox for a boolean default, a select for choices, a password field
//   for secrets, else an input of `type`);
// - `auth_providers`: `[{label, callback_url, icon_url}]`, one link each.
import { useTheme } from "../common/theme";

export interface AuthInput {
  label?: string;
  name: string;
  type?: string;
  default_value?: unknown;
  choices?: string[] | null;
  is_multiple?: boolean | null;
  is_secret?: boolean | null;
  is_required?: boolean | null;
}

export interface AuthArgs {
  title?: string;
  username_password_callback?: string;
  error?: string | null;
  info?: string | null;
  auth_providers?: { label?: string; callback_url: string; icon_url?: string }[];
  custom_form?: { inputs?: AuthInput[] | null; callback_url: string; submit_button_text?: string | null };
}

function Input({ input, i }: { input: AuthInput; i: number }) {
  const id = `auth-${i}-${input.name}`;
  const label = input.label ?? input.name;
  const required = !!input.is_required;
  const def = input.default_value;
  if (input.choices) {
    const selected = Array.isArray(def) ? def.map(String) : [String(def ?? "")];
    return (
      <div class="field">
        <label for={id}>{label}</label>
        <select id={id} name={input.name} multiple={!!input.is_multiple} required={required}>
          {input.choices.map((c) => <option value={c} selected={selected.includes(c)}>{c}</option>)}
        </select>
      </div>
    );
  }
  if (typeof def === "boolean") {
    return (
      <div class="field check">
        <input type="checkbox" id={id} name={input.name} defaultChecked={def} required={required} />
        <label for={id}>{label}</label>
      </div>
    );
  }
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} name={input.name} required={required}
        type={input.is_secret ? "password" : input.type || "text"}
        defaultValue={def === null || def === undefined ? "" : String(def)} />
    </div>
  );
}

function Notes({ a }: { a: AuthArgs }) {
  return (
    <>
      {a.info ? <p class="info" role="status" id="auth-info">{a.info}</p> : null}
      {a.error ? <p class="error" role="alert" id="auth-error">{a.error}</p> : null}
    </>
  );
}

export function Auth({ args }: { args: AuthArgs }) {
  const [theme, toggleTheme] = useTheme();
  document.title = args.title || "Locust";
  const custom = args.custom_form;
  const userPass = args.username_password_callback;
  return (
    <>
      <header class="navbar">
        <div class="brand">rlocust</div>
        <div class="buttons" style={{ marginLeft: "auto" }}>
          <button class="icon" id="btn-theme" onClick={toggleTheme} title="Switch light/dark theme"
            aria-label="Switch light/dark theme">{theme === "dark" ? "☀" : "☾"}</button>
        </div>
      </header>
      <main class="start auth">
        <div class="swarm-form">
          <h1>Log in</h1>
          {userPass && !custom ? (
            <form action={userPass} method="post" id="login-form">
              <div class="field">
                <label for="auth-username">Username</label>
                <input id="auth-username" name="username" type="text" autocomplete="username" />
              </div>
              <div class="field">
                <label for="auth-password">Password</label>
                <input id="auth-password" name="password" type="password" autocomplete="current-password" />
              </div>
              <Notes a={args} />
              <div class="actions"><button type="submit" class="primary">Login</button></div>
            </form>
          ) : null}
          {custom ? (
            <form action={custom.callback_url} method="post" id="login-form">
              {(custom.inputs ?? []).map((input, i) => <Input input={input} i={i} />)}
              <Notes a={args} />
              <div class="actions"><button type="submit" class="primary">{custom.submit_button_text || "Login"}</button></div>
            </form>
          ) : null}
          {!custom && !userPass ? <Notes a={args} /> : null}
          {args.auth_providers?.length ? (
            <ul class="providers">
              {args.auth_providers.map((p) => (
                <li>
                  <a class="button" href={p.callback_url}>
                    {p.icon_url ? <img src={p.icon_url} alt="" height={24} /> : null}
                    <span>{p.label ?? p.callback_url}</span>
                  </a>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      </main>
    </>
  );
}
