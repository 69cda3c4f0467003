"""`--web-login` with a custom login form (`auth_args["custom_form"]`): an e-mail field, a checkbox, a choice and
two password fields, posted to the locustfile's own route. Run by webui/tests/login.mjs under Locust 2.47 and
rlocust alike."""

from flask import Blueprint, redirect, request, session, url_for
from flask_login import UserMixin, login_user

from locust import HttpUser, constant, events, task


class Visitor(HttpUser):
    wait_time = constant(0.5)

    @task
    def home(self):
        self.client.get("/")


class Member(UserMixin):
    def __init__(self, email):
        self.id = email


@events.init.add_listener
def set_up_login(environment, **_kwargs):
    if not environment.web_ui:
        return
    web_ui = environment.web_ui
    web_ui.app.config["SECRET_KEY"] = "only-for-tests"
    web_ui.login_manager.user_loader(Member)
    web_ui.auth_args = {
        "custom_form": {
            "inputs": [
                {"label": "E-mail", "name": "email", "type": "email", "is_required": True},
                {"label": "Remember me", "name": "remember", "default_value": False},
                {"label": "Team", "name": "team", "choices": ["load", "perf"]},
                {"label": "Password", "name": "password", "is_secret": True},
                {"label": "Password again", "name": "password_again", "is_secret": True},
            ],
            "callback_url": "/signup",
            "submit_button_text": "Sign up",
        },
    }
    routes = Blueprint("test_signup", __name__)

    @routes.route("/signup", methods=["POST"])
    def signup():
        if not request.form.get("password") or request.form.get("password") != request.form.get("password_again"):
            session["auth_error"] = "The passwords differ"
            return redirect(url_for("locust.login"))
        login_user(Member(request.form.get("email")))
        return redirect(url_for("locust.index"))

    web_ui.app.register_blueprint(routes)
