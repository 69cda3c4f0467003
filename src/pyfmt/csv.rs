//! Python's `csv.writer` in its default dialect (comma, `QUOTE_MINIMAL`, CRLF), the quoting every CSV file of a run
//! shares (`report::csv`, `report::metrics`, `report::search`, `report::compare`).
//!
//! Who calls it: the CSV writers of `report`. What it must not do: know about rows, files or statistics.

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
