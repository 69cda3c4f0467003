"""rlocust.llm: prompts for load tests of LLM inference servers, usable from any User.

- `Tokenizer(path)`: a Hugging Face `tokenizer.json` (or a directory holding one) read by the Rust `tokenizers`
  crate; `count`, `encode`, `decode` agree exactly with the Python `tokenizers` package on the same file.
- `synthetic(data, tokenizer=..., seed=...)`: an endless iterator of prompts of exactly the token counts asked,
  with GuideLLM's `--data` keys (`prompt_tokens=256,output_tokens=128`, stdev/min/max, shared prefixes).
- `dataset(path, ...)`: prompts read from JSONL, CSV, JSON or ShareGPT files, as an endless iterator.
- `from_arrival(row, tokenizer=...)`: a prompt as long as a replayed trace row says (`self.arrival`).
- `Conversation`: a multi-turn chat that carries its history (`.messages` for the OpenAI API).

Iterators here are safe to share between users (module level `prompts = synthetic(...)`, `next(prompts)` in a
task): `synthetic`'s texts are made a few items ahead on a Rust thread of its own (the GIL released), so `next`
usually only draws the lengths of a later item and takes a finished text.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import random
import threading
from dataclasses import dataclass, field

from rlocust import _native

__all__ = ["Conversation", "Item", "Tokenizer", "dataset", "from_arrival", "parse_data", "synthetic"]

Tokenizer = _native().Tokenizer

_LENGTH_KEYS = ("prompt_tokens", "output_tokens")
_MOST_TOKENS = 1_000_000  # a longer prompt than any model takes is a typo, not a test
_DATA_KEYS = frozenset(
    [f"{k}{s}" for k in _LENGTH_KEYS for s in ("", "_stdev", "_min", "_max")] + ["prefix_tokens", "prefix_count"]
)


@dataclass(frozen=True)
class Item:
    """One prompt: `prompt` (the user's text), `prompt_tokens` (its count under the tokenizer, None when not
    counted), `output_tokens` (to send as `max_tokens`; None when not asked), and the shared prefix when there is
    one: `prefix` (its text, sent as a system message as GuideLLM does), `prefix_tokens`, `prefix_index`."""

    prompt: str
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    prefix: str | None = None
    prefix_tokens: int = 0
    prefix_index: int | None = None

    @property
    def messages(self) -> list[dict[str, str]]:
        """The OpenAI chat messages: the prefix as a system message (when there is one), the prompt as the user's."""
        out = [{"role": "system", "content": self.prefix}] if self.prefix else []
        out.append({"role": "user", "content": self.prompt})
        return out

    @property
    def text(self) -> str:
        """Prefix and prompt as one text (for /v1/completions), joined by a space as GuideLLM joins them."""
        return f"{self.prefix} {self.prompt}" if self.prefix else self.prompt


def _tokenizer(tokenizer) -> Tokenizer:
    if isinstance(tokenizer, Tokenizer):
        return tokenizer
    if tokenizer is None:
        raise ValueError("a tokenizer is needed: tokenizer=PATH (a tokenizer.json, or a directory holding one)")
    return Tokenizer(os.fspath(tokenizer))


def _json(text: str, what: str):
    try:
        return json.loads(text)
    except ValueError as e:
        raise ValueError(f"{what}: not JSON ({e})") from None


def parse_data(data) -> dict[str, int]:
    """GuideLLM's `--data` for synthetic prompts, as a string `"prompt_tokens=256,output_tokens=128"` (or its JSON
    form) or a dict, checked: an unknown key, a value that is not a whole number, or a missing `prompt_tokens` is
    a ValueError naming it."""
    if isinstance(data, str):
        text = data.strip()
        if text.startswith("{"):
            data = _json(text, f"synthetic data {text!r}")
        else:
            pairs = {}
            for part in filter(None, (p.strip() for p in text.replace("\n", ",").split(","))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise ValueError(f"synthetic data: {part!r} is not key=value")
                pairs[key.strip()] = value.strip()
            data = pairs
    if not isinstance(data, dict):
        raise ValueError(f"synthetic data must be a string or a dict, not {type(data).__name__}")
    out = {}
    for key, value in data.items():
        if key not in _DATA_KEYS:
            raise ValueError(f"synthetic data: unknown key {key!r} (known: {', '.join(sorted(_DATA_KEYS))})")
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool) or number < 0:
            raise ValueError(f"synthetic data: {key}={value!r} is not a whole number >= 0")
        if number > _MOST_TOKENS:
            raise ValueError(f"synthetic data: {key}={value!r} is above {_MOST_TOKENS}")
        out[key] = number
    if not out.get("prompt_tokens"):
        raise ValueError("synthetic data: prompt_tokens (> 0) is required")
    for name in _LENGTH_KEYS:
        lo, hi = out.get(f"{name}_min"), out.get(f"{name}_max")
        if (lo is not None or hi is not None or f"{name}_stdev" in out) and name not in out:
            raise ValueError(f"synthetic data: {name} must be set with {name}_stdev, {name}_min or {name}_max")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"synthetic data: {name}_min={lo} is above {name}_max={hi}")
    return out


def _lengths(data: dict, name: str, seed: int):
    """GuideLLM's IntegerRangeSampler: min defaults to max(1, mean - 5 stdev), max to mean + 5 stdev; with a stdev a
    clamped rounded Gaussian, without one a uniform integer between min and max (or always the mean)."""
    mean = data.get(name)
    if mean is None:
        while True:
            yield None
    stdev = data.get(f"{name}_stdev") or None
    lo = data.get(f"{name}_min")
    hi = data.get(f"{name}_max")
    lo = max(1, mean - 5 * stdev if stdev else mean) if lo is None else lo
    hi = (mean + 5 * stdev if stdev else mean) if hi is None else hi
    rng = random.Random(seed)
    if lo == hi:
        while True:
            yield lo
    elif not stdev:
        while True:
            yield rng.randint(lo, hi)
    else:
        while True:
            yield max(1, round(max(lo, min(hi, rng.gauss(mean, stdev)))))


class synthetic:  # noqa: N801 - used as a function: `prompts = synthetic(...)`
    """Endless prompts of exact token counts: `synthetic("prompt_tokens=256,output_tokens=128", tokenizer=PATH,
    seed=42)`; `next(prompts)` gives an `Item`. The lengths follow GuideLLM's sampling (the same seeds: prompt
    lengths from `seed`, output lengths from `seed + 1`, the prefix drawn from `seed + 3`); each prompt's words
    come from a seed of its own drawn from `seed + 2`, so a seed gives the same items in the same order.

    `prefix_tokens`/`prefix_count`: `prefix_count` distinct prefixes of `prefix_tokens` tokens each (GuideLLM's
    one bucket), one drawn at random for each item and added before the prompt (not counted in `prompt_tokens`).
    `prefix_order="round_robin"` takes them in turn instead."""

    def __init__(self, data, tokenizer=None, seed: int = 42, prefix_order: str = "random"):
        self.data = parse_data(data)
        self.tokenizer = _tokenizer(tokenizer)
        if prefix_order not in ("random", "round_robin"):
            raise ValueError(f"prefix_order must be 'random' or 'round_robin', not {prefix_order!r}")
        self.seed = int(seed)
        self._lock = threading.Lock()
        self._prompt_lengths = _lengths(self.data, "prompt_tokens", self.seed)
        self._output_lengths = _lengths(self.data, "output_tokens", self.seed + 1)
        self._text_seeds = random.Random(self.seed + 2)
        self._prefix_rng = random.Random(self.seed + 3)
        self._round_robin = prefix_order == "round_robin"
        self._served = 0
        self._drawn = 0
        prefix_tokens = self.data.get("prefix_tokens", 0)
        count = self.data.get("prefix_count", 1) if prefix_tokens else 0
        prefix_seeds = random.Random(self.seed + 4)
        self.prefixes = [self.tokenizer.synthetic_text(prefix_tokens, prefix_seeds.getrandbits(64))
                         for _ in range(count)]
        self.prefix_tokens = prefix_tokens if count else 0
        # the texts are made AHEAD items in advance on a Rust thread of their own, in the order they are drawn
        self._pipe = _native().TextPipe(self.tokenizer)
        self._pending = collections.deque(self._draw() for _ in range(self.AHEAD))

    AHEAD = 8

    def _draw(self):
        """The next item's lengths, words' seed and prefix, its text asked of the pipe."""
        n = next(self._prompt_lengths)
        out = next(self._output_lengths)
        text_seed = self._text_seeds.getrandbits(64)
        index = None
        if self.prefixes:
            if self._round_robin:
                index = self._drawn % len(self.prefixes)
            else:
                index = self._prefix_rng.randrange(len(self.prefixes))
        self._drawn += 1
        self._pipe.ask(n, text_seed)
        return n, out, index

    def __iter__(self):
        return self

    def __next__(self) -> Item:
        with self._lock:
            n, out, index = self._pending.popleft()
            self._pending.append(self._draw())
            prompt = self._pipe.take()
            self._served += 1
        return Item(prompt, n, out, self.prefixes[index] if index is not None else None, self.prefix_tokens, index)


# ---- the replay row's lengths --------------------------------------------------------------------------------

_INPUT_KEYS = ("input_length", "ContextTokens", "prompt_tokens", "input_tokens", "context_tokens")
_OUTPUT_KEYS = ("output_length", "GeneratedTokens", "output_tokens", "generated_tokens", "max_tokens")


def _row_int(row, keys):
    for key in keys:
        if key in row and row[key] not in (None, ""):
            try:
                value = int(float(row[key]))
            except (TypeError, ValueError):
                raise ValueError(f"arrival row: {key}={row[key]!r} is not a number") from None
            if value < 0:
                raise ValueError(f"arrival row: {key}={value} is negative")
            return value
    return None


def from_arrival(row, tokenizer=None, seed: int | None = None) -> Item:
    """A synthetic prompt as long as a replayed trace row says: `row` is `self.arrival` (a dict), with the input
    length in `input_length` (Mooncake), `ContextTokens` (Azure), `prompt_tokens` or `input_tokens`, and the output
    length in `output_length`, `GeneratedTokens`, `output_tokens` or `max_tokens`. `seed`: the words' seed (by
    default one drawn from the row, so a row's prompt is the same in every run). ValueError (one line) when the row
    has no input length."""
    if not isinstance(row, dict):
        raise ValueError(f"arrival row must be a dict, not {type(row).__name__}")
    n = _row_int(row, _INPUT_KEYS)
    if n is None:
        raise ValueError(f"arrival row has no input length (one of: {', '.join(_INPUT_KEYS)}); it has {sorted(row)}")
    out = _row_int(row, _OUTPUT_KEYS)
    if seed is None:
        seed = random.Random(json.dumps(row, sort_keys=True, default=str)).getrandbits(64)
    return Item(_tokenizer(tokenizer).synthetic_text(n, seed), n, out)


# ---- datasets ------------------------------------------------------------------------------------------------

PROMPT_COLUMNS = ("prompt", "text", "question", "input", "instruction", "content")
OUTPUT_COLUMNS = ("output_tokens", "max_tokens", "output_length", "output_len")


def _is_sharegpt(record) -> bool:
    return isinstance(record, dict) and isinstance(record.get("conversations"), list)


def _records(path: str):
    """The file's records (dicts, or ShareGPT conversations) in order: JSONL, a JSON list, CSV/TSV."""
    lower = path.lower()
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if lower.endswith((".csv", ".tsv")):
                return list(csv.DictReader(f, delimiter="\t" if lower.endswith(".tsv") else ","))
            text = f.read()
    except OSError as e:
        raise OSError(f"dataset {path}: {e.strerror or e}") from None
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _json(text, f"dataset {path}")
    return [_json(line, f"dataset {path}: line {number}") for number, line in enumerate(text.splitlines(), 1)
            if line.strip()]


def _sharegpt_turns(record) -> list[tuple[str, str]]:
    """A ShareGPT conversation's turns as (role, text): `human`/`user` -> user, `gpt`/`assistant`/`chatgpt` ->
    assistant, `system` -> system."""
    roles = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
             "bard": "assistant", "bing": "assistant", "system": "system"}
    turns = []
    for turn in record["conversations"]:
        if isinstance(turn, dict):
            role = roles.get(str(turn.get("from", turn.get("role", ""))).lower())
            value = turn.get("value", turn.get("content"))
            if role and isinstance(value, str):
                turns.append((role, value))
    return turns


class dataset:  # noqa: N801 - used as a function: `prompts = dataset(...)`
    """Endless prompts read from a file: JSONL or a JSON list of objects, CSV/TSV with a header, or ShareGPT JSON
    (a list of `{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}`: its first human turn is
    the prompt, and the answer's token count the `output_tokens`, as vLLM's ShareGPT dataset does).

    `column`: the prompt's column (default: the first of prompt, text, question, input, instruction, content that the
    first row has); `output_column`: a column of output lengths (default: output_tokens, max_tokens, output_length,
    output_len when there). `tokenizer`: counts `prompt_tokens` (and ShareGPT's `output_tokens`); without one they are
    None unless the file has them. `shuffle`: a seeded order (`seed`), else the file's; the rows repeat endlessly.
    `len(ds)` is the number of rows, `ds.rows` the items, `ds.conversations` ShareGPT's turns as `Conversation`s."""

    def __init__(self, path, column: str | None = None, output_column: str | None = None, tokenizer=None,
                 shuffle: bool = False, seed: int = 42):
        path = os.fspath(path)
        tok = _tokenizer(tokenizer) if tokenizer is not None else None
        records = _records(path)
        if not isinstance(records, list) or not records:
            raise ValueError(f"dataset {path}: no rows")
        self.conversations: list[Conversation] = []
        rows: list[Item] = []
        if _is_sharegpt(records[0]):
            for record in records:
                if not _is_sharegpt(record):
                    continue
                turns = _sharegpt_turns(record)
                self.conversations.append(Conversation.from_turns(turns))
                users = [i for i, (role, _) in enumerate(turns) if role == "user"]
                if not users:
                    continue
                prompt = turns[users[0]][1]
                answer = next((t for r, t in turns[users[0] + 1:] if r == "assistant"), None)
                rows.append(Item(prompt, tok.count(prompt) if tok else None,
                                 tok.count(answer) if tok and answer else None))
        else:
            first = records[0]
            if not isinstance(first, dict):
                raise ValueError(f"dataset {path}: rows must be objects with a prompt column")
            if column is None:
                column = next((c for c in PROMPT_COLUMNS if c in first), None)
                if column is None:
                    raise ValueError(f"dataset {path}: no prompt column (looked for {', '.join(PROMPT_COLUMNS)}; "
                                     f"the rows have {', '.join(map(str, first))}): pass column=")
            elif column not in first:
                raise ValueError(f"dataset {path}: no column {column!r} (the rows have {', '.join(map(str, first))})")
            if output_column is None:
                output_column = next((c for c in OUTPUT_COLUMNS if c in first), None)
            for number, record in enumerate(records, 1):
                prompt = record.get(column) if isinstance(record, dict) else None
                if not isinstance(prompt, str):
                    raise ValueError(f"dataset {path}: row {number} has no text in {column!r}")
                out = None
                if output_column and record.get(output_column) not in (None, ""):
                    try:
                        out = int(float(record[output_column]))
                    except (TypeError, ValueError):
                        raise ValueError(f"dataset {path}: row {number}: {output_column}="
                                         f"{record[output_column]!r} is not a number") from None
                rows.append(Item(prompt, tok.count(prompt) if tok else None, out))
        if not rows:
            raise ValueError(f"dataset {path}: no prompts")
        if shuffle:
            random.Random(seed).shuffle(rows)
        self.rows = rows
        self.path = path
        self._next = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return self

    def __next__(self) -> Item:
        with self._lock:
            item = self.rows[self._next % len(self.rows)]
            self._next += 1
        return item


# ---- conversations -------------------------------------------------------------------------------------------

@dataclass
class Conversation:
    """A multi-turn chat carrying its history: `conv.user(text)` and, once answered, `conv.assistant(reply)`;
    `conv.messages` is the OpenAI API's `messages` (the system prompt first when given). `Conversation.from_turns`
    makes one from (role, text) pairs (a ShareGPT conversation: `dataset(path).conversations`); `user_turns()` gives
    its user texts in order, to replay them against a server whose answers are appended as they come."""

    system: str | None = None
    history: list[dict[str, str]] = field(default_factory=list)

    @property
    def messages(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [dict(m) for m in self.history]

    def user(self, text: str) -> list[dict[str, str]]:
        """Add the user's turn; returns `messages` (to send)."""
        self.history.append({"role": "user", "content": str(text)})
        return self.messages

    def assistant(self, text: str) -> None:
        """Add the model's answer to the history."""
        self.history.append({"role": "assistant", "content": str(text)})

    def turns(self) -> int:
        """How many user turns the history has."""
        return sum(1 for m in self.history if m["role"] == "user")

    def user_turns(self) -> list[str]:
        return [m["content"] for m in self.history if m["role"] == "user"]

    def reset(self) -> None:
        """Forget the history (the system prompt stays)."""
        self.history.clear()

    @classmethod
    def from_turns(cls, turns) -> Conversation:
        system = None
        history = []
        for role, text in turns:
            if role == "system" and not history and system is None:
                system = text
            elif role in ("user", "assistant"):
                history.append({"role": role, "content": text})
        return cls(system, history)
