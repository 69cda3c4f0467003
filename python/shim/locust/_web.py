"""rlocust internals: the web server's work that needs Python, run on the hub.

The Rust web server (src/web/) answers Locust's routes itself; it sends a `_rlocust.Web` command only when Python
state must change: the form fields of `POST /swarm` (host, profile, `parsed_options`), `POST /user` (class
attributes) and the `reset_stats` event of `POST /stats/reset`. Each action returns whether it succeeded; it never
raises into the bridge.

A request for a path the Rust server does not serve arrives as a `_rlocust.WebRequest` when the locustfile created
`environment.web_ui.app` (`locust.web`): `wsgi` calls that Flask app with a WSGI environ built from it and hands
the status, headers and body back with `_rlocust.web_reply` (src/web/python_routes.rs waits for it).
"""

import io
import json
import logging
import sys
from urllib.parse import unquote_to_bytes

logger = logging.getLogger("locust.web")

_BUILT_IN = ("user_count", "spawn_rate", "host", "user_classes", "run_time", "profile")


def handle(env, action, payload):
    if action == "open_browser":
        # Enter at the prompt (src/runner/keyboard.rs), Locust's input listener: an exception the (possibly patched)
        # webbrowser raises ends this greenlet as it ends Locust's (sys.exit() in it ends the process)
        import webbrowser

        webbrowser.open_new_tab(json.loads(payload))
        return True
    try:
        data = json.loads(payload)
        if action == "swarm":
            if data.get("picked") is not None:
                # --class-picker: the classes picked in the form run from now on (Locust's _update_user_classes)
                available = env.available_user_classes or {}
                env.user_classes = [available[n] for n in data["picked"] if n in available]
            _swarm(env, data["items"], data["lists"])
        elif action == "start_shape":
            # --class-picker: the form's shape class (None: Default, no shape); else the locustfile's shape
            if "shape" in data:
                name = data["shape"]
                shape = (env.available_shape_classes or {}).get(name) if name else None
                if shape is not None:
                    shape.runner = env.runner
                env.shape_class = shape
            if env.shape_class is None or env.runner is None:
                return False
            env.runner.start_shape()
        elif action == "user":
            env.update_user_class(data)
            if env.runner is not None:  # (a master's workers apply it too, as under Locust's /user)
                env.runner._user_class_updated(data)
        elif action == "reset_stats":
            env.events.reset_stats.fire()
            if env.runner is not None:
                env.runner.exceptions = {}
        else:
            raise ValueError(f"unknown web action {action!r}")
        return True
    except Exception:
        logger.debug("web action %s failed", action, exc_info=True)
        return False


def _swarm(env, items, lists):
    """Apply the form fields the server accepted, in form order (each key once, its first value; `lists` holds
    every value of each key), as Locust's `/swarm` stores them."""
    options = vars(env.parsed_options) if env.parsed_options is not None else {}
    for key, value in items:
        if key == "user_count":
            options["num_users"] = int(value)
        elif key == "spawn_rate":
            options["spawn_rate"] = float(value)
        elif key == "host":
            env.host = str(value).replace("<", "").replace(">", "")
            options["host"] = env.host
        elif key == "user_classes":
            options["user_classes"] = list(lists.get(key, [value]))
        elif key == "run_time":
            if value:
                from locust.util.timespan import parse_timespan

                options["run_time"] = parse_timespan(value)
        elif key == "profile":
            env.profile = str(value) or None
            options["profile"] = env.profile
        elif key in options:
            old = options[key]
            if isinstance(old, bool):
                options[key] = value == "true"
            elif old is None:
                options[key] = value
            elif isinstance(old, list):
                values = value.split(",") if "," in value else list(lists.get(key, [value]))
                options[key] = list(map(int, values)) if all(isinstance(x, int) for x in old) else values
            else:
                options[key] = type(old)(value)
    # Locust's runner.start(): a set environment host becomes every user class's host
    if env.host:
        for cls in env.user_classes:
            cls.host = env.host
    if hasattr(env.runner, "_publish_spawn_info"):
        env.runner._publish_spawn_info()


# The largest response body handed back to the Rust server (a larger one is answered with 500).
MAX_REPLY_BODY = 64 << 20

_NOT_FOUND = (b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested "
              b"URL was not found on the server. If you entered the URL manually please check your spelling and try "
              b"again.</p>\n")
_PLAIN = [("Content-Type", b"text/plain")]


class _TooLarge(Exception):
    pass


def environ(request):
    """The WSGI environ (PEP 3333) of a `_rlocust.WebRequest`: the full path (Locust serves the app's routes at
    the root whatever `--web-base-path` is), the headers as `HTTP_*` keys (repeated ones joined), the body."""
    import locust

    raw_uri = request.path + ("?" + request.query if request.query else "")
    body = request.body
    env = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(request.path).decode("latin-1"),
        "QUERY_STRING": request.query,
        "RAW_URI": raw_uri,
        "REQUEST_URI": raw_uri,
        "SERVER_NAME": request.server_name,
        "SERVER_PORT": str(request.server_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": f"rlocust/{locust.__version__}",
        "REMOTE_ADDR": request.remote_addr,
        "REMOTE_PORT": str(request.remote_port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    has_length = False
    for name, value in request.headers:
        if name == "content-type":
            env["CONTENT_TYPE"] = value
            continue
        if name == "content-length":
            has_length = True
            continue
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in env:
            env[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            env[key] = value
    if has_length or body:
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def _header_bytes(value):
    value = str(value)
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


# The header the Rust server marks its `--web-login` checks with (it drops the header from clients' requests).
GATE = "x-rlocust-gate"
# What a passed check answers with (status 200): the server then serves the page itself.
PASSED = "X-Rlocust-Login"


def _gate_kind(request):
    for name, value in request.headers:
        if name == GATE:
            return value
    return None


def _passed():
    from flask import Response

    return Response(b"", 200, {PASSED: "ok"})


def gate(web_ui, request, kind):
    """`--web-login` for a page or API route the Rust server serves: `kind` "auth" runs Locust's check
    (`auth_required_if_enabled`) in a request context built from the request's headers, and answers with
    `PASSED` (the server serves the route, with this answer's cookies) or with the check's own answer (the
    redirect to the login page, Locust's "auth exception" text). `kind` "login" is Locust's `/login` view: the
    page's `auth_args` (with the session's `auth_error` and `auth_info`) as JSON, for the server to render
    auth.html with. The session is saved and the app's `after_request` functions run as for any Flask view.
    Returns (status, headers, body)."""
    import json

    from flask import session

    app = web_ui.app
    with app.request_context(environ(request)):
        if kind == "login":
            web_ui.auth_args["error"] = session.get("auth_error", None)
            web_ui.auth_args["info"] = session.get("auth_info", None)
            page = {"auth_args": web_ui.auth_args, "auth_title": web_ui.auth_args.get("title", "Locust")}
            rv = app.make_response((json.dumps(page, default=str), 200, {PASSED: "page"}))
        else:
            rv = app.make_response(web_ui.auth_required_if_enabled(_passed)())
        rv = app.process_response(rv)
        return rv.status_code, list(rv.headers.items()), rv.get_data()


def wsgi(env, request):
    """Answer one `_rlocust.WebRequest` with the locustfile's Flask app (`web_reply`). Never raises: an app that
    raises is logged and answered with 500, as Locust's WSGI server does."""
    import _rlocust

    web_ui = env.web_ui
    app = web_ui._app if web_ui is not None else None
    if app is None:
        _rlocust.web_reply(request.id, 404, [("Content-Type", b"text/html; charset=utf-8")], _NOT_FOUND)
        return True
    kind = _gate_kind(request)
    if kind is not None:
        try:
            status, headers, body = gate(web_ui, request, kind)
            _rlocust.web_reply(request.id, status, [(str(k), _header_bytes(v)) for k, v in headers], body)
        except Exception:
            logger.exception("Error in the --web-login check of %s %s", request.method, request.path)
            _rlocust.web_reply(request.id, 500, _PLAIN, b"Internal Server Error")
        return True
    started = []

    def start_response(status, headers, exc_info=None):
        # nothing is sent before the app returns (the reply is buffered): a second call, with exc_info for an
        # error page, simply replaces the status and headers
        started[:] = [status, headers]
        return chunks.append

    chunks = []
    try:
        result = app(environ(request), start_response)
        try:
            size = 0
            for chunk in result:
                if chunk:
                    chunks.append(bytes(chunk))
                    size += len(chunk)
                    if size > MAX_REPLY_BODY:
                        raise _TooLarge()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        status, headers = started
        code = int(str(status).split(None, 1)[0])
        reply = [(str(k), _header_bytes(v)) for k, v in headers]
        _rlocust.web_reply(request.id, code, reply, b"".join(chunks))
    except _TooLarge:
        logger.error("The web route for %s %s answered with more than %d MiB: not sent", request.method,
                     request.path, MAX_REPLY_BODY >> 20)
        _rlocust.web_reply(request.id, 500, _PLAIN, b"Internal Server Error")
    except Exception:
        logger.exception("Error in the locustfile's web route for %s %s", request.method, request.path)
        _rlocust.web_reply(request.id, 500, _PLAIN, b"Internal Server Error")
    return True
