"""Replay a Mooncake-style trace against an OpenAI-style chat endpoint: one request per row, at the row's time.

Each row of `mooncake_sample.jsonl` (Mooncake's published JSONL shape: `timestamp` in milliseconds from the trace's
start, `input_length` and `output_length` in tokens, `hash_ids` naming the prompt's 512-token blocks) starts one
iteration at its time on an idle user (the open model: `--arrival-max-users` caps the users; a row that finds them
all busy is counted as dropped, never delayed; latency counts from the row's intended start). The iteration sees the
row as `self.arrival`, and posts a streamed chat completion with `max_tokens = output_length` and a prompt of about
`input_length` words (words, not tokens: this example stays independent of any tokenizer). Rows that share leading
`hash_ids` share the prompt's leading words, so a server's prefix cache sees the trace's reuse.

    rlocust-target --port 8089 --llm-ttft-ms 100 --llm-itl-ms 10 &
    rlocust -f examples/llm/replay_mooncake.py --headless -H http://127.0.0.1:8089 \
        --arrival-trace examples/llm/mooncake_sample.jsonl --arrival-max-users 50 --arrival-initial-users 10

`--arrival-trace-scale 2` replays it twice as fast. The run ends when the last row's request has ended. Under
Locust (which has no trace replay) `self.arrival` does not exist; this file is for rlocust.
"""

import json

from locust import HttpUser, task

WORDS_PER_BLOCK = 512  # Mooncake's hash_ids name blocks of 512 tokens
VOCABULARY = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
              "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def prompt_words(input_length: int, hash_ids: list) -> str:
    """About `input_length` words; the words of block `h` are the same in every row that names `h`."""
    words = []
    for h in hash_ids:
        words += [f"{VOCABULARY[(h * 7 + i) % len(VOCABULARY)]}{h}" for i in range(WORDS_PER_BLOCK)]
        if len(words) >= input_length:
            break
    while len(words) < input_length:
        words.append(VOCABULARY[len(words) % len(VOCABULARY)])
    return " ".join(words[:input_length])


class TraceReplay(HttpUser):
    @task
    def chat(self):
        row = self.arrival  # this iteration's row of the trace
        body = {
            "model": "replay",
            "stream": True,
            "max_tokens": row["output_length"],
            "messages": [{"role": "user", "content": prompt_words(row["input_length"], row.get("hash_ids", []))}],
        }
        with self.client.post("/v1/chat/completions", json=body, stream=True, name="chat (replayed)",
                              catch_response=True) as resp:
            for line in resp.iter_lines():
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    json.loads(line[6:])
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
