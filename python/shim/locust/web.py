"""`locust.web.WebUI`: what a locustfile finds in `environment.web_ui` (and the `web_ui=` of `init`) when the
web UI runs, i.e. without `--headless`.

The web server itself is Rust (src/web/): it serves Locust's pages and API without Python. This object is the
extension point Locust documents: `web_ui.app` is a real `flask.Flask` app, created the first time a locustfile
touches it, and the Rust server hands every request for a path it does not serve to that app on the hub
(`locust._web.wsgi`). Routes must exist by the end of `init` (the shim tells the server then whether the app
exists, see `locust._state.web_info`). Flask is not a dependency of rlocust: without it, `web_ui.app` raises a
ModuleNotFoundError that says to `pip install flask` (a locustfile that only tests `if environment.web_ui:`
works unchanged).

What does not carry over: Flask hooks (`before_request`, `after_request`, error handlers) run only for the
requests the app receives, never for the pages and API the Rust server answers itself (`/stats/requests` …);
`template_args` only holds what Python knows (the Rust server renders its own page).

`--web-login` works as Locust's: `login_manager` is a Flask-Login `LoginManager` on the app (login view
`locust.login`), `auth_args` fill the login page, and every page and API route the Rust server serves is
protected as Locust protects its own (`auth_required_if_enabled`): before serving one, the server asks the app
(`locust._web.wsgi`, a request marked as a gate) and serves it only if this check lets it through, with the
session cookie the check set. The app has a Blueprint `locust` with Locust's endpoint names, so
`url_for("locust.index")` and `url_for("locust.login")` work as in Locust's login examples.
"""

import logging

logger = logging.getLogger("locust.web")

# Locust's switch for a required host field in the start form (a locustfile may set it to True)
HOST_IS_REQUIRED = False

NO_FLASK = ("environment.web_ui.app needs Flask, which is not installed in the Python rlocust runs "
            "(pip install flask)")

NO_FLASK_LOGIN = ("--web-login needs Flask-Login, which is not installed in the Python rlocust runs "
                  "(pip install flask-login)")

# Locust's own routes (path, endpoint, methods), for `url_for("locust.<endpoint>")`. The Rust server answers these
# paths itself; the app never receives them.
_LOCUST_ROUTES = (
    ("/assets/<path:path>", "send_assets", ("GET",)),
    ("/", "index", ("GET",)),
    ("/swarm", "swarm", ("POST",)),
    ("/stop", "stop", ("POST",)),
    ("/stats/reset", "reset_stats", ("POST",)),
    ("/stats/report", "stats_report", ("GET",)),
    ("/stats/requests/csv", "request_stats_csv", ("GET",)),
    ("/stats/requests_full_history/csv", "request_stats_full_history_csv", ("GET",)),
    ("/stats/failures/csv", "failures_stats_csv", ("GET",)),
    ("/stats/requests", "request_stats", ("GET",)),
    ("/exceptions", "exceptions", ("GET",)),
    ("/exceptions/csv", "exceptions_csv", ("GET",)),
    ("/tasks", "tasks", ("GET",)),
    ("/logs", "logs", ("GET",)),
    ("/login", "login", ("GET",)),
    ("/user", "update_user", ("POST",)),
    ("/worker-count", "get_worker_count", ("GET",)),
)

AUTH_EXCEPTION = ("Locust auth exception: {}<br/><br/>See https://docs.locust.io/en/stable/extending-locust.html"
                  "#adding-authentication-to-the-web-ui for configuring authentication, or disable login by removing "
                  "--web-login argument.")


def _served_by_rust():
    import flask

    flask.abort(404)


class _BoundServer:
    """Where the Rust web server listens, with the attribute names of gevent's WSGIServer."""

    def __init__(self, host, port):
        self.server_host = host
        self.server_port = port
        self.address = (host, port)

    def __repr__(self):
        return f"<rlocust web server at {self.server_host}:{self.server_port}>"


class WebUI:
    """The web UI as a locustfile sees it: `app` (Flask), `template_args`, `auth_required_if_enabled`, …"""

    greenlet = None
    """Locust's server greenlet; the server is Rust here, so always None."""

    server = None
    """Locust's WSGI server. The server is Rust here: None until `start()`, then its bound address as gevent's
    server shows it (`server_host`, `server_port`, `address`: the port a script that asked for port 0 reads)."""

    def __init__(self, environment, host, port, web_base_path=None, web_login=False, userclass_picker_is_active=False):
        environment.web_ui = self
        self.environment = environment
        self.host = host
        self.port = port
        self.web_base_path = web_base_path or None
        self.web_login = web_login
        self._login_manager = None
        self.userclass_picker_is_active = userclass_picker_is_active
        self.tls_cert = getattr(environment.parsed_options, "tls_cert", None) or None
        self.tls_key = getattr(environment.parsed_options, "tls_key", None) or None
        self.template_args = {}
        self.auth_args = {}
        self._app = None

    def __repr__(self):
        return f"<rlocust WebUI at {self.host or '0.0.0.0'}:{self.port}>"

    @property
    def app(self):
        """The Flask app the Rust server hands unknown paths to (created on first use, as Locust configures its
        own: debug on, so `jsonify` indents as Locust's does and a view's exception is logged, then answered
        with 500)."""
        if self._app is None:
            try:
                import flask
            except ModuleNotFoundError as e:
                if e.name not in ("flask", "werkzeug", "jinja2", "itsdangerous", "click", "blinker", "markupsafe"):
                    raise
                raise ModuleNotFoundError(NO_FLASK, name="flask") from None
            app = flask.Flask("locust", static_folder=None)
            app.debug = True
            # Locust's blueprint, for url_for: its endpoints at Locust's paths (served by the Rust server)
            blueprint = flask.Blueprint("locust", "locust", url_prefix=self.web_base_path)
            for rule, endpoint, methods in _LOCUST_ROUTES:
                blueprint.add_url_rule(rule, endpoint, _served_by_rust, methods=list(methods))
            app.register_blueprint(blueprint)
            self._app = app
        return self._app

    @app.setter
    def app(self, value):
        self._app = value

    @property
    def has_app(self):
        """Whether the app exists (the locustfile touched `app`, or set its own)."""
        return self._app is not None

    @property
    def login_manager(self):
        """The Flask-Login `LoginManager` of `--web-login` (created on first use, on `app`); without
        `--web-login` an AttributeError, as in Locust."""
        if not self.web_login:
            raise AttributeError("The login_manager is only available with --web-login.\n")
        if self._login_manager is None:
            try:
                from flask_login import LoginManager
            except ModuleNotFoundError as e:
                if e.name not in ("flask_login", "flask"):
                    raise
                raise ModuleNotFoundError(NO_FLASK_LOGIN, name=e.name) from None
            manager = LoginManager()
            manager.init_app(self.app)
            manager.login_view = "locust.login"
            self._login_manager = manager
        return self._login_manager

    @login_manager.setter
    def login_manager(self, value):
        self._login_manager = value

    def auth_required_if_enabled(self, view_func):
        """Locust's decorator: under `--web-login` the view needs a logged-in user (Flask-Login's
        `login_required`; the session's `auth_error`/`auth_info` are cleared first, and a failure of the login
        setup is answered with Locust's "Locust auth exception" text); without it the view runs as is. The
        Rust server applies the same check to the pages and API it serves (`locust._web.gate`)."""
        from functools import wraps

        @wraps(view_func)
        def wrapper(*args, **kwargs):
            if not self.web_login:
                return view_func(*args, **kwargs)
            from flask import session
            from flask_login import login_required

            try:
                session["auth_error"] = None
                session["auth_info"] = None
                return login_required(view_func)(*args, **kwargs)
            except Exception as e:
                logger.exception("Locust auth exception")
                return AUTH_EXCEPTION.format(e)

        return wrapper

    def update_template_args(self):
        """Refresh `template_args` with what Python knows of the run. The Rust server renders its own page from
        its own state, so this only serves locustfiles that read the arguments (e.g. to render a template)."""
        import locust
        from locust import stats

        env = self.environment
        options = env.parsed_options
        runner = env.runner
        classes = env.available_user_classes or {c.__name__: c for c in env.user_classes}
        if env.host:
            host = env.host
        else:
            hosts = {getattr(c, "host", None) for c in env.user_classes}
            host = hosts.pop() if len(hosts) == 1 else None
        self.template_args = {
            **self.template_args,
            "locustfile": env.locustfile,
            "state": runner.state if runner is not None else "ready",
            "is_distributed": False,
            "user_count": runner.user_count if runner is not None else 0,
            "version": locust.__version__,
            "host": host or "",
            "num_users": getattr(options, "num_users", None),
            "spawn_rate": getattr(options, "spawn_rate", None),
            "run_time": getattr(options, "run_time", None),
            "worker_count": 0,
            "available_user_classes": sorted(classes),
            "available_shape_classes": ["Default", *sorted(env.available_shape_classes or {})],
            "show_userclass_picker": self.userclass_picker_is_active,
            "percentiles_to_chart": list(getattr(stats, "PERCENTILES_TO_CHART", [0.5, 0.95])),
            "percentiles_to_statistics": list(getattr(stats, "PERCENTILES_TO_STATISTICS", [0.95, 0.99])),
            "profile": env.profile,
        }

    def start(self):
        """Start the Rust web server for a script that drives the run (`rlocust-python`, `create_web_ui`)."""
        import _rlocust
        from locust import _state
        from locust._mode import library_mode

        if not library_mode():
            raise RuntimeError("under rlocust the web UI is started from the command line (run without --headless)")
        args = ["--web-host", self.host or "", "--web-port", str(int(self.port))]
        if self.web_login:
            args.append("--web-login")
            self.login_manager  # noqa: B018 (the login needs the app and its LoginManager)
        if getattr(self, "web_base_path", None):
            args += ["--web-base-path", self.web_base_path]
        if self.tls_cert and self.tls_key:
            args += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
        if self.userclass_picker_is_active:
            args.append("--class-picker")
        previous = _state._State.env
        _state._State.env = self.environment
        try:
            info = _state.web_info()
        finally:
            _state._State.env = previous if previous is not None else self.environment
        bound_host, self.port = _rlocust.lib_web_ui(args, info)
        self.server = _BoundServer(bound_host, self.port)

    def stop(self):
        """Locust stops its server here; the Rust server stops with the run, so nothing to do."""
