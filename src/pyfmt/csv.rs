//! Python's `csv.writer` in its default dialect (comma, `QUOTE_MINIMAL`, CRLF), the quoting every CSV file of a run
//! shares (`report::csv`, `report::metrics`, `report::search`, `report::compare`), and the one CSV reader (RFC 4180
//! records with their line numbers) for the files rlocust reads: a baseline's `_stats.csv` (`report::compare`) and
//! an `--arrival-trace` (`runner::open::trace`).
//!
//! Who calls it: the CSV writers of `report` and those two readers. What it must not do: know about rows, files or
//! statistics.

/// Append one field with Python `csv.QUOTE_MINIMAL` rules.
pub fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Append one CRLF-terminated row (`csv.writer.writerow`).
pub fn push_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    if let [only] = fields
        && only.as_ref().is_empty()
    {
        // Python writes a lone empty field as "" so the line is not blank.
        out.push_str("\"\"\r\n");
        return;
    }
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f.as_ref());
    }
    out.push_str("\r\n");
}

/// CSV records with the line each starts on (RFC 4180: commas, double-quoted fields with `""` inside, CRLF or
/// LF); blank lines are skipped. `Err(line)`: the record starting on that line has a quoted field never closed.
/// A quote opens a quoted field only at the field's start (spaces before it allowed); inside a field it is text.
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, usize> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    return Err(start);
                }
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        line += 1;
                        field.push(c);
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if field.trim().is_empty() && !was_quoted => {
                    field.clear();
                    quoted = true;
                    was_quoted = true;
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    break;
                }
                _ => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() == 1 && fields[0].trim().is_empty() && !was_quoted {
            continue;
        }
        out.push((start, fields));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_lines_quotes_and_line_breaks() {
        let text = "a,b\r\n\n\"x, \"\"y\"\"\",\"two\nlines\"\nlast,\n";
        let got = records(text).unwrap();
        assert_eq!(
            got,
            vec![
                (1, vec!["a".to_string(), "b".to_string()]),
                (3, vec!["x, \"y\"".to_string(), "two\nlines".to_string()]),
                (5, vec!["last".to_string(), String::new()]),
            ]
        );
        // what Python's csv.writer writes reads back as it was
        let mut out = String::new();
        push_row(&mut out, &["q\"uote", "com,ma", ""]);
        assert_eq!(records(&out).unwrap()[0].1, vec!["q\"uote", "com,ma", ""]);
    }

    #[test]
    fn an_unclosed_quote_names_the_line_its_record_starts_on() {
        assert_eq!(records("h\nok\n\"open,\nmore\n"), Err(3));
    }
}
