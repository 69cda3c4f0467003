// The login page of `--web-login` (dist/auth.html, Locust's auth.html): its own small bundle, so the dashboard
// does not carry it; it uses the dashboard's stylesheet (assets/index.css).
import { render } from "preact";
import { Auth, AuthArgs } from "./auth";

const args = (window as unknown as { authArgs?: AuthArgs }).authArgs;
render(<Auth args={args && typeof args === "object" ? args : {}} />, document.getElementById("app")!);
