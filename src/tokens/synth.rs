//! Synthetic prompt text of an exact token count under one tokenizer (`rlocust.llm.synthetic`), made from a fixed
//! list of plain English words chosen by a seeded generator, and always verified by counting the finished text.
//!
//! Who calls it: `py::llm` (the `Tokenizer.synthetic_text` binding, with the GIL released). What it must not do:
//! return a text whose count differs from the one asked (it returns an error instead), or touch Python.
//!
//! How: most tokenizers split text at spaces before their model runs (byte-level BPE with GPT-2's or Llama-3's
//! regexes, Metaspace), so a text's count is the sum of its words' counts. Each word's count is measured once per
//! tokenizer (as the first word and after a space), words are drawn until the sum is the one asked (the last gap
//! filled by a word of exactly that many tokens), and the text is counted. When the sum is not the count (a
//! tokenizer whose merges cross spaces, a normalizer that changes them), a general path takes over: encode a longer
//! text, decode its first N ids, count, try the cuts next to N, then append single-token words (and, when they do
//! not fit, pieces of the vocabulary) one by one while counting, until the count is N.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::Tokenizer;

/// Plain words the prompts are made of (common English words: every tokenizer trained on text has most of them as
/// one or two tokens).
const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "time",
    "people",
    "year",
    "way",
    "day",
    "man",
    "thing",
    "woman",
    "life",
    "child",
    "world",
    "school",
    "state",
    "family",
    "student",
    "group",
    "country",
    "problem",
    "hand",
    "part",
    "place",
    "case",
    "week",
    "company",
    "system",
    "program",
    "question",
    "work",
    "government",
    "number",
    "night",
    "point",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "community",
    "name",
    "president",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
    "good",
    "new",
    "first",
    "last",
    "long",
    "great",
    "little",
    "own",
    "other",
    "old",
    "big",
    "high",
    "different",
    "small",
    "large",
    "next",
    "early",
    "young",
    "important",
    "few",
    "public",
    "bad",
    "same",
    "able",
    "say",
    "make",
    "go",
    "know",
    "take",
    "see",
    "come",
    "think",
    "look",
    "want",
    "give",
    "use",
    "find",
    "tell",
    "ask",
    "seem",
    "feel",
    "try",
    "leave",
    "call",
    "keep",
    "let",
    "begin",
    "help",
    "talk",
    "turn",
    "start",
    "show",
    "hear",
    "play",
    "run",
    "move",
    "like",
    "live",
    "believe",
    "hold",
    "bring",
    "happen",
    "write",
    "provide",
    "sit",
    "stand",
    "lose",
    "pay",
    "meet",
    "include",
    "continue",
    "set",
    "learn",
    "lead",
    "understand",
    "watch",
    "follow",
    "stop",
    "create",
    "speak",
    "read",
    "allow",
    "add",
    "spend",
    "grow",
    "open",
    "walk",
    "win",
    "offer",
    "remember",
    "love",
    "consider",
    "appear",
    "buy",
    "wait",
    "serve",
    "die",
    "send",
    "expect",
    "build",
    "stay",
    "fall",
    "cut",
    "reach",
    "kill",
    "remain",
    "suggest",
    "raise",
    "pass",
    "sell",
    "require",
    "report",
    "decide",
    "pull",
    "river",
    "garden",
    "window",
    "table",
    "paper",
    "music",
    "market",
    "light",
    "field",
    "road",
    "tree",
    "stone",
    "letter",
    "summer",
    "winter",
    "island",
    "bridge",
    "engine",
    "signal",
    "answer",
    "simple",
    "quiet",
    "bright",
    "careful",
    "often",
    "always",
    "never",
    "together",
    "between",
    "under",
    "over",
    "after",
    "before",
    "during",
    "without",
    "around",
    "against",
    "through",
    "because",
    "while",
    "where",
    "again",
    "also",
    "very",
    "still",
    "only",
    "just",
    "well",
    "even",
    "then",
    "now",
    "here",
];

/// The measured counts of [`WORDS`] under one tokenizer.
struct WordTable {
    /// Tokens of each word at the start of a text.
    first: Vec<usize>,
    /// Tokens each word adds after another word and a space.
    later: Vec<usize>,
    /// The words adding exactly one token after a space (the general path's filler).
    ones: Vec<usize>,
    /// For a gap of `r` tokens (index r, up to the largest word): the words adding at most `r` after a space.
    fits_later: Vec<Vec<usize>>,
    /// The same for the first word.
    fits_first: Vec<Vec<usize>>,
}

static TABLES: OnceLock<Mutex<HashMap<PathBuf, Arc<WordTable>>>> = OnceLock::new();

fn table(tok: &Tokenizer) -> Result<Arc<WordTable>, String> {
    let tables = TABLES.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(t) = tables.lock().get(tok.path()) {
        return Ok(t.clone());
    }
    let anchor = "the";
    let base = tok.count(anchor)?;
    let mut first = Vec::with_capacity(WORDS.len());
    let mut later = Vec::with_capacity(WORDS.len());
    for w in WORDS {
        first.push(tok.count(w)?);
        later.push(tok.count(&format!("{anchor} {w}"))?.saturating_sub(base));
    }
    let fits = |counts: &[usize]| {
        let top = counts.iter().copied().max().unwrap_or(0);
        (0..=top)
            .map(|r| {
                (0..counts.len())
                    .filter(|&i| counts[i] >= 1 && counts[i] <= r)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let t = Arc::new(WordTable {
        ones: (0..WORDS.len()).filter(|&i| later[i] == 1).collect(),
        fits_later: fits(&later),
        fits_first: fits(&first),
        first,
        later,
    });
    tables.lock().insert(tok.path().to_path_buf(), t.clone());
    Ok(t)
}

/// SplitMix64: a small generator whose sequence for a seed never changes (the prompts of a seed are the same in
/// every release).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A word index that adds at most `rem` tokens, at random (`None`: no word is that short).
fn pick(rng: &mut Rng, counts: &[usize], fits: &[Vec<usize>], rem: usize) -> Option<usize> {
    let i = rng.below(WORDS.len());
    if counts[i] >= 1 && counts[i] <= rem {
        return Some(i);
    }
    let list = fits.get(rem).unwrap_or_else(|| &fits[fits.len() - 1]);
    (!list.is_empty()).then(|| list[rng.below(list.len())])
}

/// A text of exactly `n` tokens under `tok` (no special tokens), the same for the same `seed`.
pub fn exact_text(tok: &Tokenizer, n: usize, seed: u64) -> Result<String, String> {
    if n == 0 {
        return Ok(String::new());
    }
    let table = table(tok)?;
    let mut rng = Rng(seed);
    if let Some(text) = by_words(&table, n, &mut rng)
        && tok.count(&text)? == n
    {
        return Ok(text);
    }
    general(tok, &table, n, &mut rng)
}

/// The words' sum path: `None` when the table has no word short enough for a gap.
fn by_words(table: &WordTable, n: usize, rng: &mut Rng) -> Option<String> {
    let mut text = String::with_capacity(n * 6);
    let i = pick(rng, &table.first, &table.fits_first, n)?;
    text.push_str(WORDS[i]);
    let mut rem = n - table.first[i];
    while rem > 0 {
        let i = pick(rng, &table.later, &table.fits_later, rem)?;
        text.push(' ');
        text.push_str(WORDS[i]);
        rem -= table.later[i];
    }
    Some(text)
}

/// Random words, `words` of them.
fn words(rng: &mut Rng, words: usize) -> String {
    let mut text = String::with_capacity(words * 7);
    for k in 0..words {
        if k > 0 {
            text.push(' ');
        }
        text.push_str(WORDS[rng.below(WORDS.len())]);
    }
    text
}

/// The general path: cut a longer text's encoding at `n` ids, then fix the boundary by counting.
fn general(tok: &Tokenizer, table: &WordTable, n: usize, rng: &mut Rng) -> Result<String, String> {
    let mut want = n + 16;
    let ids = loop {
        let ids = tok.encode(&words(rng, want))?;
        if ids.len() >= n + 8 || want > 64 * (n + 16) {
            break ids;
        }
        want *= 2;
    };
    // the closest text below n tokens found so far
    let mut below = (String::new(), 0usize);
    for d in 0..=8usize {
        for k in [n.checked_sub(d), n.checked_add(d)].into_iter().flatten() {
            if k == 0 || k > ids.len() {
                continue;
            }
            let text = tok.decode(&ids[..k])?;
            let c = tok.count(&text)?;
            if c == n {
                return Ok(text);
            }
            if c < n && c >= below.1 {
                below = (text, c);
            }
        }
    }
    // append one-token words (or, with none, any word) while the count stays at most n
    let fillers: Vec<usize> = if table.ones.is_empty() {
        (0..WORDS.len()).collect()
    } else {
        table.ones.clone()
    };
    let (mut text, mut c) = below;
    // (each loop ends once it has made no progress for a while: every step it keeps adds tokens)
    let mut stuck = 0usize;
    while c < n && stuck < 64 {
        stuck += 1;
        let w = WORDS[fillers[rng.below(fillers.len())]];
        let next = if text.is_empty() {
            w.to_string()
        } else {
            format!("{text} {w}")
        };
        let nc = tok.count(&next)?;
        if nc > c && nc <= n {
            (text, c, stuck) = (next, nc, 0);
        }
    }
    // then pieces of the vocabulary (a tokenizer where no plain word is one token, e.g. a text must start with a
    // prefix piece), appended as they decode, with or without a space
    let vocab = tok.vocab_size().max(1);
    stuck = 0;
    while c < n && stuck < 2000 {
        stuck += 1;
        let Ok(piece) = tok.decode(&[rng.below(vocab) as u32]) else {
            continue;
        };
        if piece.trim().is_empty() {
            continue;
        }
        for next in [format!("{text}{piece}"), format!("{text} {piece}")] {
            let nc = tok.count(&next)?;
            if nc > c && nc <= n {
                (text, c, stuck) = (next, nc, 0);
                break;
            }
        }
    }
    if c == n {
        Ok(text)
    } else {
        Err(format!(
            "tokenizer {}: could not make a text of exactly {n} tokens (closest: {c})",
            tok.path().display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn each() -> Vec<Arc<Tokenizer>> {
        ["byte-level", "metaspace"]
            .iter()
            .map(|d| {
                let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/llm/tokenizers")
                    .join(d);
                super::super::load(&p).expect("the test tokenizer loads")
            })
            .collect()
    }

    #[test]
    fn texts_have_exactly_the_count_asked_and_a_seed_repeats() {
        for tok in each() {
            for n in [1usize, 2, 3, 7, 64, 255, 256, 1000] {
                for seed in 0..4u64 {
                    let text = exact_text(&tok, n, seed).unwrap();
                    assert_eq!(tok.count(&text).unwrap(), n, "{n} {seed} {text:?}");
                }
            }
            assert_eq!(
                exact_text(&tok, 50, 9).unwrap(),
                exact_text(&tok, 50, 9).unwrap()
            );
            assert_ne!(
                exact_text(&tok, 50, 9).unwrap(),
                exact_text(&tok, 50, 10).unwrap()
            );
            assert_eq!(exact_text(&tok, 0, 1).unwrap(), "");
        }
    }

    #[test]
    fn the_general_path_alone_is_exact_too() {
        for tok in each() {
            let table = table(&tok).unwrap();
            for n in [1usize, 2, 5, 100, 300] {
                let text = general(&tok, &table, n, &mut Rng(n as u64)).unwrap();
                assert_eq!(tok.count(&text).unwrap(), n, "{n} {text:?}");
            }
        }
    }
}
