"""`--web-login` as Locust documents it, with a user name and a password: the locustfile gives Flask-Login its user
loader, the session its secret key, the login page its `auth_args` (a password form and one provider link) and
adds the routes the page posts to. Run by tests/web/test_login.py and webui/tests/login.mjs under Locust 2.47 and
rlocust alike."""

import os

from flask import Blueprint, redirect, request, session, url_for
from flask_login import UserMixin, login_user

from locust import HttpUser, constant, events, task

ACCOUNTS = {"alice": "wonderland"}


class Visitor(HttpUser):
    wait_time = constant(0.5)

    @task
    def home(self):
        self.client.get("/")


class Account(UserMixin):
    def __init__(self, name):
        self.id = name


def find_account(name):
    return Account(name) if name in ACCOUNTS else None


@events.init.add_listener
def set_up_login(environment, **_kwargs):
    if not environment.web_ui:
        return
    web_ui = environment.web_ui
    base = environment.parsed_options.web_base_path
    web_ui.app.config["SECRET_KEY"] = os.environ.get("LOGIN_TEST_SECRET", "only-for-tests")
    web_ui.login_manager.user_loader(find_account)
    web_ui.auth_args = {
        "username_password_callback": f"{base}/login_check",
        "auth_providers": [{"label": "Company sign-on", "callback_url": f"{base}/login/sso", "icon_url": ""}],
    }
    routes = Blueprint("test_login", __name__, url_prefix=base)

    @routes.route("/login_check", methods=["POST"])
    def login_check():
        name = request.form.get("username", "")
        if ACCOUNTS.get(name) == request.form.get("password"):
            login_user(Account(name))
            return redirect(url_for("locust.index"))
        session["auth_error"] = "Wrong user name or password"
        return redirect(url_for("locust.login"))

    @routes.route("/login/sso")
    def sso():
        session["auth_info"] = "Company sign-on is not available in this test"
        return redirect(url_for("locust.login"))

    @routes.route("/whoami")
    @web_ui.auth_required_if_enabled
    def whoami():
        return "a page of the locustfile behind the login"

    web_ui.app.register_blueprint(routes)
