//! The help text, laid out like argparse's (Python 3.11) so it looks like Locust's: the usage line, one
//! section per option group (title, optional description, then each option's invocation with its help at
//! column 24, wrapped to the terminal width minus 2), and the examples at the end.

use super::spec::{EPILOG, Group, USAGE};

/// One line of the help: how the option is written and what it does.
pub struct Entry {
    pub invocation: String,
    pub help: Option<String>,
    pub group: Group,
}

/// Break a word longer than the line the way textwrap does: after the last hyphen that fits, else at
/// the edge.
fn long_word_cut(chunk: &[char], space_left: usize) -> usize {
    if chunk.len() > space_left
        && let Some(h) = chunk[..space_left.min(chunk.len())]
            .iter()
            .rposition(|&c| c == '-')
        && h > 0
        && chunk[..h].iter().any(|&c| c != '-')
    {
        return h + 1;
    }
    space_left
}

/// Split one word after hyphens that join two words (textwrap's break_on_hyphens, simplified).
fn hyphen_chunks(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for k in 0..chars.len() {
        let letter = |i: usize| chars.get(i).is_some_and(|c| c.is_alphabetic());
        if chars[k] == '-'
            && k >= 2
            && letter(k - 1)
            && letter(k - 2)
            && letter(k + 1)
            && (letter(k + 2) || (chars.get(k + 2) == Some(&'-') && letter(k + 3)))
        {
            out.push(chars[start..=k].iter().collect());
            start = k + 1;
        }
    }
    out.push(chars[start..].iter().collect());
    out
}

/// textwrap.wrap of whitespace-normalized text.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut chunks: Vec<Vec<char>> = Vec::new();
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            chunks.push(vec![' ']);
        }
        for part in hyphen_chunks(word) {
            chunks.push(part.chars().collect());
        }
    }
    chunks.reverse();
    let mut lines = Vec::new();
    while !chunks.is_empty() {
        let mut line: Vec<char> = Vec::new();
        if !lines.is_empty() && chunks.last().is_some_and(|c| c == &vec![' ']) {
            chunks.pop();
        }
        while let Some(c) = chunks.last() {
            if line.len() + c.len() <= width {
                line.extend(chunks.pop().unwrap_or_default());
            } else {
                break;
            }
        }
        if let Some(c) = chunks.last_mut()
            && c.len() > width
        {
            let space_left = width.saturating_sub(line.len()).max(1);
            let end = long_word_cut(c, space_left);
            line.extend_from_slice(&c[..end]);
            c.drain(..end);
        }
        while line.last() == Some(&' ') {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(line.into_iter().collect());
        } else if chunks.last().is_some_and(|c| c.is_empty()) {
            chunks.pop();
        }
    }
    lines
}

/// The terminal width argparse would use: `$COLUMNS`, else 80.
pub fn columns() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80)
}

/// Lay out the whole help for a terminal `columns` wide.
pub fn render(entries: &[Entry], columns: usize) -> String {
    let width = columns.saturating_sub(2).max(1);
    let max_help_position = 24usize.min(width.saturating_sub(20).max(4));
    let indent = 2usize;
    let longest = entries
        .iter()
        .map(|e| e.invocation.chars().count() + indent)
        .max()
        .unwrap_or(0);
    let help_position = (longest + 2).min(max_help_position);
    let help_width = width.saturating_sub(help_position).max(11);
    let action_width = help_position.saturating_sub(indent + 2);

    let mut out = String::new();
    out.push_str(USAGE);
    out.push_str("\n\n");
    for group in Group::ALL {
        let members: Vec<&Entry> = entries.iter().filter(|e| e.group == group).collect();
        if members.is_empty() && group.description().is_none() {
            continue;
        }
        out.push_str(group.title());
        out.push_str(":\n");
        if let Some(desc) = group.description() {
            for line in desc.lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
        for e in members {
            let lines = e
                .help
                .as_deref()
                .map(|h| wrap(h, help_width))
                .unwrap_or_default();
            let inv_len = e.invocation.chars().count();
            let mut rest = lines.iter();
            if lines.is_empty() {
                out.push_str(&format!("{:indent$}{}\n", "", e.invocation));
            } else if inv_len <= action_width {
                let pad = action_width - inv_len;
                let first = rest.next().map(String::as_str).unwrap_or("");
                out.push_str(&format!(
                    "{:indent$}{}{:pad$}  {}\n",
                    "", e.invocation, "", first
                ));
            } else {
                out.push_str(&format!("{:indent$}{}\n", "", e.invocation));
            }
            for line in rest {
                out.push_str(&format!("{:help_position$}{}\n", "", line));
            }
        }
        out.push('\n');
    }
    out.push_str(EPILOG);
    out.push('\n');
    out
}
