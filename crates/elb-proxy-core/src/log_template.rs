//! The access log's `template` grammar: text with `{field}` placeholders (`{{` and `}}` for
//! braces). Parsed here, in the pure core, so `--check`, start-up and reload refuse an
//! unknown field with the config's file:line before any log is opened.

/// Fields a template may name, in the order the `json` format writes them.
pub const FIELDS: [&str; 24] = [
    "time",
    "client",
    "forwarded_for",
    "listener",
    "method",
    "target",
    "version",
    "host",
    "status",
    "bytes_in",
    "bytes_out",
    "user_agent",
    "referer",
    "request_id",
    "route",
    "cluster",
    "member",
    "retries",
    "queue_ms",
    "connect_ms",
    "first_byte_ms",
    "total_ms",
    "termination",
    "request",
];

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// The field `FIELDS[i]`.
    Field(usize),
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A placeholder names no field.
    #[error("access_log.template: unknown field '{{{0}}}'; fields: {fields}", fields = FIELDS.join(", "))]
    UnknownField(String),
    /// A `{` without its `}` (or a lone `}`).
    #[error("access_log.template: unbalanced brace at byte {0}")]
    Unbalanced(usize),
}

/// Splits a template into literal text and fields.
pub fn parse(t: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = t.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let rest = &t[i + 1..];
                let end = rest.find('}').ok_or(TemplateError::Unbalanced(i))?;
                let name = &rest[..end];
                let idx = FIELDS
                    .iter()
                    .position(|f| *f == name)
                    .ok_or_else(|| TemplateError::UnknownField(name.chars().take(32).collect()))?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(idx));
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
            }
            '}' => return Err(TemplateError::Unbalanced(i)),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_escape_and_fields_resolve() {
        assert_eq!(
            parse("{{{client}}} {status}").unwrap(),
            vec![
                Piece::Text("{".into()),
                Piece::Field(1),
                Piece::Text("} ".into()),
                Piece::Field(8),
            ]
        );
    }

    #[test]
    fn unknown_fields_and_lone_braces_are_refused() {
        assert_eq!(
            parse("{path}"),
            Err(TemplateError::UnknownField("path".into()))
        );
        assert_eq!(parse("x {status"), Err(TemplateError::Unbalanced(2)));
        assert_eq!(parse("x }"), Err(TemplateError::Unbalanced(2)));
    }
}
