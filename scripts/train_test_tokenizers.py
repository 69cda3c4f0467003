"""Train the two small tokenizers kept under tests/llm/tokenizers (test data, not shipped).

Both are trained here, on this repository's own docs (docs/*.md and README.md), with the Python `tokenizers`
package (a test-only dependency, requirements-test.txt), so nothing in them comes from elsewhere:

- byte-level/tokenizer.json: byte-level BPE, as GPT-2, Llama 3 and Qwen tokenizers are (every byte has a token);
- metaspace/tokenizer.json: BPE over `▁`-marked words with NFKC normalization and an unknown token, as
  SentencePiece-converted tokenizers (Llama 2, Mistral) are.

Run from the repository root: `.venv/bin/python scripts/train_test_tokenizers.py` (deterministic for one
`tokenizers` version; the files are committed, so the tests never train).
"""

import pathlib

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "llm" / "tokenizers"


def corpus():
    files = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    return [f.read_text(encoding="utf-8") for f in files]


def byte_level():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    return tok


def metaspace():
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    return tok


def main():
    for name, make in (("byte-level", byte_level), ("metaspace", metaspace)):
        (OUT / name).mkdir(parents=True, exist_ok=True)
        make().save(str(OUT / name / "tokenizer.json"))
        print(OUT / name / "tokenizer.json")


if __name__ == "__main__":
    main()
