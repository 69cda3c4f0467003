"""Run under rlocust-python by tests/llm/test_prompts.py: exercises `rlocust.llm` inside rlocust (the binary's
embedded `rlocust` package) and writes what it got as JSON (PROBE_OUT) for the test to check against the Python
`tokenizers` package. PROBE_IN names the test's input (the tokenizers, texts, lengths and data files)."""

import json
import os
import time

from rlocust import llm

spec = json.loads(open(os.environ["PROBE_IN"], encoding="utf-8").read())
out = {"tokenizers": {}, "errors": {}}


def error_of(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the test checks the type and the text
        return [type(e).__name__, str(e)]
    return None


for path in spec["tokenizers"]:
    tok = llm.Tokenizer(path)
    res = out["tokenizers"][path] = {}
    res["counts"] = [tok.count(t) for t in spec["texts"]]
    res["encodes"] = [tok.encode(t) for t in spec["texts"]]
    res["decodes"] = [tok.decode(ids) for ids in res["encodes"]]
    res["same_dir"] = llm.Tokenizer(os.path.dirname(path)).count("hello world")
    res["exact"] = {str(n): tok.synthetic_text(n, n * 7 + 1) for n in spec["lengths"]}
    prompts = llm.synthetic("prompt_tokens=256,output_tokens=128", tokenizer=path, seed=5)
    res["plain"] = [[i.prompt, i.prompt_tokens, i.output_tokens] for i in (next(prompts) for _ in range(5))]
    again = llm.synthetic({"prompt_tokens": 256, "output_tokens": 128}, tokenizer=tok, seed=5)
    res["plain_again"] = [[i.prompt, i.prompt_tokens, i.output_tokens] for i in (next(again) for _ in range(5))]
    other = llm.synthetic("prompt_tokens=256,output_tokens=128", tokenizer=tok, seed=6)
    res["plain_other"] = [next(other).prompt for _ in range(5)]
    spread = llm.synthetic("prompt_tokens=100,prompt_tokens_stdev=30,prompt_tokens_min=40,prompt_tokens_max=160,"
                           "output_tokens=50,output_tokens_min=10,output_tokens_max=90", tokenizer=tok, seed=1)
    res["spread"] = [[i.prompt, i.prompt_tokens, i.output_tokens] for i in (next(spread) for _ in range(60))]
    shared = llm.synthetic("prompt_tokens=32,prefix_tokens=64,prefix_count=3", tokenizer=tok, seed=2)
    res["prefixed"] = [[i.prefix, i.prefix_index, i.prompt, i.prompt_tokens, i.messages]
                       for i in (next(shared) for _ in range(30))]
    robin = llm.synthetic("prompt_tokens=8,prefix_tokens=4,prefix_count=2", tokenizer=tok, prefix_order="round_robin")
    res["round_robin"] = [next(robin).prefix_index for _ in range(4)]
    res["arrival"] = [[i.prompt, i.prompt_tokens, i.output_tokens] for i in (
        llm.from_arrival({"timestamp": 0, "input_length": 700, "output_length": 52, "hash_ids": [1, 2]}, tokenizer=tok),
        llm.from_arrival({"TIMESTAMP": "2023-11-16 18:15:46", "ContextTokens": "374", "GeneratedTokens": "44"},
                         tokenizer=path),
    )]
    res["arrival_again"] = llm.from_arrival({"timestamp": 0, "input_length": 700, "output_length": 52,
                                             "hash_ids": [1, 2]}, tokenizer=tok).prompt
    ds = llm.dataset(spec["sharegpt"], tokenizer=tok)
    res["sharegpt"] = [[i.prompt, i.prompt_tokens, i.output_tokens] for i in ds.rows]
    res["sharegpt_conversations"] = [c.messages for c in ds.conversations]
    # the Python thread's cost per prompt (the test only prints it: no timing assertions)
    res["us_per_prompt"] = {}
    for n in (256, 2048):
        timed = llm.synthetic(f"prompt_tokens={n}", tokenizer=tok, seed=3)
        next(timed)
        start = time.perf_counter()
        for _ in range(50):
            next(timed)
        back_to_back = (time.perf_counter() - start) / 50 * 1e6
        # as a task uses it: one prompt per request, here a 10 ms request
        paced, spent = llm.synthetic(f"prompt_tokens={n}", tokenizer=tok, seed=4), 0.0
        time.sleep(0.05)
        for _ in range(50):
            start = time.perf_counter()
            next(paced)
            spent += time.perf_counter() - start
            time.sleep(0.01)
        direct = time.perf_counter()
        for seed in range(20):
            tok.synthetic_text(n, seed)
        made = (time.perf_counter() - direct) / 20 * 1e6
        res["us_per_prompt"][str(n)] = {"back_to_back": back_to_back, "paced": spent / 50 * 1e6, "made": made}

out["other_kinds"] = {}
for path in spec["other_kinds"]:
    tok = llm.Tokenizer(path)
    out["other_kinds"][path] = {str(n): tok.synthetic_text(n, n) for n in spec["other_lengths"]}

jsonl = llm.dataset(spec["jsonl"])
out["jsonl"] = [[i.prompt, i.prompt_tokens, i.output_tokens] for i in (next(jsonl) for _ in range(4))]
out["jsonl_len"] = len(jsonl)
out["csv"] = [[i.prompt, i.output_tokens] for i in llm.dataset(spec["csv"], column="question").rows]
out["shuffled"] = [i.prompt for i in llm.dataset(spec["jsonl"], shuffle=True, seed=1).rows]

conv = llm.Conversation(system="Be brief.")
conv.user("hi")
conv.assistant("hello")
sent = conv.user("and now?")
out["conversation"] = [sent, conv.turns(), llm.Conversation().user("x")]

tok_path = spec["tokenizers"][0]
out["errors"] = {
    "missing": error_of(lambda: llm.Tokenizer("/nonexistent/dir/tokenizer.json")),
    "broken": error_of(lambda: llm.Tokenizer(spec["broken"])),
    "unknown_key": error_of(lambda: llm.synthetic("prompt_tokens=10,promt_tokens=5", tokenizer=tok_path)),
    "bad_value": error_of(lambda: llm.synthetic("prompt_tokens=ten", tokenizer=tok_path)),
    "too_long": error_of(lambda: llm.synthetic("prompt_tokens=20000000", tokenizer=tok_path)),
    "no_prompt": error_of(lambda: llm.synthetic({"output_tokens": 5}, tokenizer=tok_path)),
    "min_max": error_of(lambda: llm.synthetic("prompt_tokens=10,prompt_tokens_min=9,prompt_tokens_max=3",
                                              tokenizer=tok_path)),
    "no_tokenizer": error_of(lambda: llm.synthetic("prompt_tokens=10")),
    "no_column": error_of(lambda: llm.dataset(spec["csv"], column="nope")),
    "no_file": error_of(lambda: llm.dataset("/nonexistent/prompts.jsonl")),
    "row_no_length": error_of(lambda: llm.from_arrival({"timestamp": 1}, tokenizer=tok_path)),
}
with open(os.environ["PROBE_OUT"], "w", encoding="utf-8") as f:
    json.dump(out, f)
