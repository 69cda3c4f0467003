"""A multi-turn chat that carries its history: each user holds a `Conversation`, sends it whole with every turn,
appends the model's streamed answer, and starts a new conversation after a few turns, so the server sees growing
contexts whose earlier turns it may have cached (the prefix cache's hit rate under a realistic chat).

The user turns come from a ShareGPT file when SHAREGPT names one (`rlocust.llm.dataset(path).conversations`: each
conversation's human turns in order), else from synthetic prompts of exactly 64 tokens under TOKENIZER.

    rlocust-target --port 8089 --llm-ttft-ms 100 --llm-itl-ms 10 &
    rlocust -f examples/llm/multi_turn.py --headless -u 10 -r 10 -t 30s -H http://127.0.0.1:8089

This file needs rlocust (`rlocust.llm`); under Locust its import fails with a message saying so.
"""

import json
import os
import random

from locust import HttpUser, between, task

try:
    from rlocust.llm import Conversation, dataset, synthetic
except ImportError as e:  # Locust
    raise ImportError("examples/llm/multi_turn.py needs rlocust (rlocust.llm)") from e

TURNS = int(os.environ.get("TURNS", "4"))
if os.environ.get("SHAREGPT"):
    SCRIPTS = [c.user_turns() for c in dataset(os.environ["SHAREGPT"]).conversations if c.user_turns()]
    USER_TEXTS = None
else:
    SCRIPTS = None
    USER_TEXTS = synthetic("prompt_tokens=64,output_tokens=32",
                           tokenizer=os.environ.get("TOKENIZER", "tests/llm/tokenizers/byte-level"), seed=7)


class MultiTurnChat(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.new_conversation()

    def new_conversation(self):
        self.conversation = Conversation(system="You are a helpful assistant.")
        self.script = list(random.choice(SCRIPTS)[:TURNS]) if SCRIPTS else None

    def next_user_text(self):
        if self.script is not None:
            return self.script.pop(0) if self.script else None
        return next(USER_TEXTS).prompt if self.conversation.turns() < TURNS else None

    @task
    def turn(self):
        text = self.next_user_text()
        if text is None:
            self.new_conversation()
            return
        body = {"model": os.environ.get("MODEL", "my-model"), "messages": self.conversation.user(text),
                "max_tokens": 32, "stream": True}
        answer = []
        name = f"/v1/chat/completions [turn {self.conversation.turns()}]"
        with self.client.post("/v1/chat/completions", json=body, stream=True, name=name,
                              catch_response=True) as r:
            for line in r.iter_lines():
                if line.startswith(b"data: {"):
                    for choice in json.loads(line[6:]).get("choices", []):
                        answer.append((choice.get("delta") or {}).get("content") or "")
        self.conversation.assistant("".join(answer))
