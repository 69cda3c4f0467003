"""The locustfile of tests/web/test_flask_routes.py: pages added the way Locust documents it, a route on
`environment.web_ui.app` and a Blueprint, registered in an `init` listener. Writes what it saw of `web_ui` to
$WEBUI_REPORT (JSON), so the test can check it in web and headless runs."""

import json
import os

from locust import User, constant, events, task


class Idle(User):
    wait_time = constant(1)

    @task
    def nothing(self):
        pass


@events.init.add_listener
def add_pages(environment, web_ui=None, **_kwargs):
    report = {"web_ui_is_none": environment.web_ui is None, "same": web_ui is environment.web_ui}
    if environment.web_ui:
        from flask import Blueprint, jsonify, request

        ui = environment.web_ui
        ui.update_template_args()
        report.update(host=ui.host, port=ui.port, web_login=ui.web_login, greenlet=ui.greenlet,
                      locustfile=ui.template_args.get("locustfile"), app_type=type(ui.app).__name__)

        @ui.app.route("/hello")
        @ui.auth_required_if_enabled
        def hello():
            return "hello from flask"

        @ui.app.route("/x/under")
        def under():
            return "under the base path"

        pages = Blueprint("pages", __name__, url_prefix="/bp")

        @pages.route("/echo", methods=["GET", "POST", "PUT"])
        def echo():
            doc = {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode(),
                "args": request.args.to_dict(),
                "body": request.get_data(as_text=True),
                "content_type": request.content_type,
                "x_test": request.headers.get("X-Test"),
                "remote_addr": request.remote_addr,
                "scheme": request.scheme,
            }
            return jsonify(doc), 201, {"X-Custom": "custom value"}

        @pages.route("/boom")
        def boom():
            raise ValueError("intentional error in a web route")

        ui.app.register_blueprint(pages)
    path = os.environ.get("WEBUI_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f)
