"""Writes a tiny llama-architecture GGUF model with random weights, for a real llama.cpp server on loopback
(tests/llm_server, `make test-llama-server`). Run at test time into a temporary directory; no model file is kept
in the repository.

    .venv-llama/bin/python tests/llm_server/tiny_gguf.py OUT.gguf

Needs `numpy` and `gguf` (PyPI; both are in .venv-llama with llama-cpp-python). It must not download anything.

The model (about 1 MB): 2 layers, width 64, 4 heads of 16, a feed-forward of 128, a context of 2048. Its vocabulary
is tests/llm/tokenizers/metaspace/tokenizer.json's 1,024 tokens (ids kept) as a SentencePiece-style ("llama")
vocabulary, plus the 256 byte tokens <0x00>..<0xFF> llama.cpp falls back to for characters it has no token for.

What it generates is chosen so a test can count it: every token it can emit is one of that tokenizer's whole words
("▁" and ASCII letters, at least two), each of which the tokenizer encodes as that one token, so the streamed text
re-tokenizes to exactly as many tokens as were generated. It never emits the end-of-sequence token, so a request's
completion has exactly its `max_tokens` tokens. How: embedding column 0 is a large constant for every token and the
layers add little, so the final normalised hidden state always has a large positive component 0; the output rows
of the word tokens have +2 there, every other row -2, so any word out-scores any other token by a wide margin
(about 20 logits), whatever the context. The rest is random (seeded), so the words vary from token to token.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, TokenType

TOKENIZER = Path(__file__).resolve().parents[1] / "llm" / "tokenizers" / "metaspace" / "tokenizer.json"

N_LAYER = 2
N_EMBD = 64
N_HEAD = 4
N_FF = 128
N_CTX = 2048
UNK, BOS, EOS = 0, 1, 2


def vocabulary(tokenizer_json: Path) -> tuple[list[str], list[float], list[int], list[int]]:
    """(tokens, scores, types, ids of the words the model may emit)."""
    vocab = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]["vocab"]
    tokens = [""] * len(vocab)
    for piece, index in vocab.items():
        tokens[index] = piece
    if tokens[UNK] != "<unk>" or tokens[BOS] != "<s>" or tokens[EOS] != "</s>":
        raise SystemExit(f"{tokenizer_json}: expected <unk> <s> </s> as ids 0 1 2")
    scores = [0.0] * len(tokens)
    types = [int(TokenType.NORMAL)] * len(tokens)
    types[UNK] = int(TokenType.UNKNOWN)
    types[BOS] = types[EOS] = int(TokenType.CONTROL)
    words = []
    for index, piece in enumerate(tokens):
        if index > EOS:
            # SentencePiece merges the highest score first: the BPE's earlier merges (lower ids) first
            scores[index] = -float(index)
            rest = piece[1:]
            if piece.startswith("▁") and len(rest) >= 2 and rest.isascii() and rest.isalpha():
                words.append(index)
    for byte in range(256):
        tokens.append(f"<0x{byte:02X}>")
        scores.append(0.0)
        types.append(int(TokenType.BYTE))
    return tokens, scores, types, words


def write(path: Path, seed: int = 53) -> Path:
    tokens, scores, types, words = vocabulary(TOKENIZER)
    n_vocab = len(tokens)
    head_dim = N_EMBD // N_HEAD
    rng = np.random.default_rng(seed)

    writer = GGUFWriter(str(path), "llama")
    writer.add_name("rlocust tiny test model (random weights)")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_unk_token_id(UNK)
    writer.add_bos_token_id(BOS)
    writer.add_eos_token_id(EOS)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)

    def weights(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # numpy shapes are (rows, columns); GGUF stores them reversed, as llama.cpp's {columns, rows}
    embedding = weights(n_vocab, N_EMBD, scale=1.0)
    embedding[:, 0] = 8.0
    writer.add_tensor("token_embd.weight", embedding)
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    output = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    output[:, 0] = -2.0
    output[words, 1:] = weights(len(words), N_EMBD - 1, scale=1.0)
    output[words, 0] = 2.0
    writer.add_tensor("output.weight", output)
    for layer in range(N_LAYER):
        block = f"blk.{layer}"
        writer.add_tensor(f"{block}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{block}.{name}.weight", weights(N_EMBD, N_EMBD, scale=0.02))
        writer.add_tensor(f"{block}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"{block}.ffn_gate.weight", weights(N_FF, N_EMBD, scale=0.02))
        writer.add_tensor(f"{block}.ffn_up.weight", weights(N_FF, N_EMBD, scale=0.02))
        writer.add_tensor(f"{block}.ffn_down.weight", weights(N_EMBD, N_FF, scale=0.02))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: tiny_gguf.py OUT.gguf", file=sys.stderr)
        return 2
    out = write(Path(argv[1]))
    print(f"{out}: {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
