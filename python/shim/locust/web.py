"""`locust.web.WebUI`: what a locustfile finds in `environment.web_ui` (and the `web_ui=` of `init`) when the
web UI runs, i.e. without `--headless`.

The web server itself is Rust (src/web/): it serves Locust's pages and API without Python. This object is the
extension point Locust documents: `web_ui.app` is a real `flask.Flask` app, created the first time a locustfile
touches it, and the Rust server hands every request for a path it does not serve to that app on the hub
(`locust._web.wsgi`). Routes must exist by the end of `init` (the shim tells the server then whether the app
exists, see `locust._main.web_info`). Flask is not a dependency of rlocust: without it, `web_ui.app` raises a
ModuleNotFoundError that says to `pip install flask` (a locustfile that only tests `if environment.web_ui:`
works unchanged).

What does not carry over: Flask hooks (`before_request`, `after_request`, error handlers) run only for the
requests the app receives, never for the pages and API the Rust server answers itself (`/stats/requests` …);
`template_args` only holds what Python knows (the Rust server renders its own page).
"""

import logging

logger = logging.getLogger("locust.web")

# Locust's switch for a required host field in the start form (a locustfile may set it to True)
HOST_IS_REQUIRED = False

NO_FLASK = ("environment.web_ui.app needs Flask, which is not installed in the Python rlocust runs "
            "(pip install flask)")


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

    def __init__(self, environment, host, port, web_login=False, userclass_picker_is_active=False):
        environment.web_ui = self
        self.environment = environment
        self.host = host
        self.port = port
        self.web_login = web_login
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
            self._app = app
        return self._app

    @app.setter
    def app(self, value):
        self._app = value

    @property
    def has_app(self):
        """Whether the app exists (the locustfile touched `app`, or set its own)."""
        return self._app is not None

    def auth_required_if_enabled(self, view_func):
        """Locust turns on its login for a view with this decorator under `--web-login`; rlocust has no
        `--web-login` (its `--basic-auth` covers every path already), so the view is returned unchanged."""
        return view_func

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
        from locust import _main
        from locust._mode import library_mode

        if not library_mode():
            raise RuntimeError("under rlocust the web UI is started from the command line (run without --headless)")
        args = ["--web-host", self.host or "", "--web-port", str(int(self.port))]
        if getattr(self, "web_base_path", None):
            args += ["--web-base-path", self.web_base_path]
        if self.tls_cert and self.tls_key:
            args += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
        if self.userclass_picker_is_active:
            args.append("--class-picker")
        previous = _main._State.env
        _main._State.env = self.environment
        try:
            info = _main.web_info()
        finally:
            _main._State.env = previous if previous is not None else self.environment
        bound_host, self.port = _rlocust.lib_web_ui(args, info)
        self.server = _BoundServer(bound_host, self.port)

    def stop(self):
        """Locust stops its server here; the Rust server stops with the run, so nothing to do."""
