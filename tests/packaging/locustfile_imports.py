"""The modules of Locust 2.47's dependencies that locustfiles import themselves, which must import after `pip
install rlocust` (test_imports.py) and in rlocust's image (tests/deploy), as after `pip install locust==2.47.0`.

Measured (docs/packaging.md, "What a locustfile can import"): Locust's own 58 examples import gevent and flask
(7 each), python-socketio and flask_login (2 each) and requests (1); public locustfiles found importing requests
(`requests.auth.HTTPBasicAuth`, `requests.exceptions`, a token fetched in `on_start`), urllib3
(`disable_warnings`), psutil, pytest, zmq, socketio and websocket (websocket-client); and brotli, which none
imports but whose presence makes urllib3 advertise and decode `br` for a locustfile's own `requests` calls. Each
name here is also checked importable next to real Locust 2.47, so the list never claims a module Locust does not
bring.
"""

MODULES = [
    "requests", "requests.auth", "requests.exceptions", "requests.adapters", "urllib3", "urllib3.exceptions",
    "certifi", "idna", "charset_normalizer",
    "gevent", "gevent.pool", "gevent.lock", "greenlet",
    "flask", "werkzeug", "jinja2", "flask_login",
    "pytest",
    "psutil",
    "zmq",
    "socketio", "engineio", "websocket",
    "typing_extensions",
    "brotli",
]
