"""locust.contrib.oai against a loopback OpenAI-compatible endpoint (OPENAI_BASE_URL, tests/contrib/servers/
oai_server.py; no real one exists offline): each HTTP exchange is a row named after its URL path or the
rename_request block, with the output tokens as its length; an unknown model is the 404 HTTPStatusError row."""

import openai

from locust import constant, task
from locust.contrib.oai import OpenAIUser
from locust.exception import StopUser


class Assistant(OpenAIUser):
    wait_time = constant(0.05)
    iterations = 0

    @task
    def ask(self):
        self.iterations += 1
        if self.iterations > 15:
            raise StopUser()
        self.client.responses.create(model="gpt-4o", instructions="Be brief.", input="How do I check a type?")
        with self.client.rename_request("mini"):
            self.client.responses.create(model="gpt-4o-mini", input="How do I check a type?")
        self.client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        try:
            self.client.responses.create(model="no-such-model", input="?")
        except openai.NotFoundError:
            pass
