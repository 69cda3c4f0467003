"""Synthetic-length chat: every request's prompt is exactly 256 tokens under the model's tokenizer and asks for 128
output tokens, the equivalent of GuideLLM's `--data "prompt_tokens=256,output_tokens=128"` (vLLM's `random`
dataset), as a Locust locustfile.

`rlocust.llm.synthetic` makes the prompts (in Rust, the GIL released), each counted under the tokenizer before it is
handed out; GuideLLM's other keys work as they are (`prompt_tokens_stdev/min/max`, `output_tokens_stdev/min/max`,
`prefix_tokens` and `prefix_count` for shared prefixes, sent as a system message). TOKENIZER names the model's
`tokenizer.json` (or the directory of a Hugging Face model holding one); the default is one of rlocust's small test
tokenizers.

    rlocust-target --port 8089 --llm-ttft-ms 100 --llm-itl-ms 10 &
    TOKENIZER=path/to/Llama-3/tokenizer.json \
        rlocust -f examples/llm/synthetic_chat.py --headless -u 20 -r 20 -t 30s -H http://127.0.0.1:8089

Under plain Locust (no `rlocust.llm`) the file still runs, with prompts of about 256 words instead: lengths are
exact only under rlocust.
"""

import os

from locust import HttpUser, constant, task

DATA = os.environ.get("DATA", "prompt_tokens=256,output_tokens=128")
TOKENIZER = os.environ.get("TOKENIZER", "tests/llm/tokenizers/byte-level")

try:
    from rlocust.llm import synthetic

    prompts = synthetic(DATA, tokenizer=TOKENIZER, seed=42)
except ImportError:  # Locust: words, not tokens
    import itertools

    class _Item:
        def __init__(self, n):
            self.prompt = " ".join(itertools.islice(itertools.cycle(["load", "test", "the", "model"]), n))
            self.messages = [{"role": "user", "content": self.prompt}]
            self.output_tokens = 128

    prompts = iter(lambda: _Item(256), None)


class SyntheticChat(HttpUser):
    wait_time = constant(0)

    @task
    def chat(self):
        item = next(prompts)
        body = {"model": os.environ.get("MODEL", "my-model"), "messages": item.messages,
                "max_tokens": item.output_tokens, "stream": True, "ignore_eos": True}
        with self.client.post("/v1/chat/completions", json=body, stream=True, catch_response=True) as r:
            for _ in r.iter_lines():
                pass
