//! Line-level lexing exactly as keepalived's reader does it: comments, braces, double quotes.
//!
//! Pure string functions; the include/definition machinery lives in [`crate::reader`].

use serde::Serialize;

/// keepalived reads lines into a 1024-byte buffer (`MAXBUF`), newline and NUL included, so the
/// longest usable line has this many bytes of text.
pub(crate) const MAX_LINE_BYTES: usize = 1022;

/// One word of a logical line, with the column it started at (1-based byte column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Word {
    pub text: String,
    pub col: u32,
}

/// Removes leading blanks, the comment (`#` or `!` outside double quotes), trailing blanks.
///
/// Returns the kept text and the byte offset of its first character in `line`.
/// `\#` and `\!` outside quotes stand for a literal `#`/`!`; keepalived loses those characters
/// when its child processes re-read the consolidated config (reference a.1), vrrpd keeps them
/// (deliberate difference, see docs/keepalived-compat.md).
pub(crate) fn decomment(line: &str) -> (String, usize) {
    let start = line.len() - line.trim_start().len();
    let body = &line[start..];
    let mut out = String::with_capacity(body.len());
    let mut in_quote = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quote = !in_quote;
                out.push(c);
            }
            '\\' if !in_quote && matches!(chars.peek(), Some('#') | Some('!')) => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            '#' | '!' if !in_quote => break,
            _ => out.push(c),
        }
    }
    let kept = out.trim_end().len();
    out.truncate(kept);
    (out, start)
}

/// Splits a line at every `{` and `}` outside double quotes; each brace becomes its own piece.
///
/// Pieces are trimmed; empty pieces are dropped. Each piece carries its byte offset in `text`.
pub(crate) fn split_braces(text: &str) -> Vec<(usize, &str)> {
    fn push<'t>(pieces: &mut Vec<(usize, &'t str)>, text: &'t str, from: usize, to: usize) {
        let piece = &text[from..to];
        let lead = piece.len() - piece.trim_start().len();
        let trimmed = piece.trim();
        if !trimmed.is_empty() {
            pieces.push((from + lead, trimmed));
        }
    }
    let mut pieces = Vec::new();
    let mut in_quote = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '{' | '}' if !in_quote => {
                push(&mut pieces, text, start, i);
                pieces.push((i, &text[i..i + 1]));
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&mut pieces, text, start, text.len());
    pieces
}

/// A `"` opened a word and never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnmatchedQuote {
    /// 1-based column of the opening quote.
    pub col: u32,
}

/// Splits a logical line into words the way keepalived's `alloc_strvec` does.
///
/// Whitespace separates words; a word that starts with `"` runs to the next `"` (quotes removed,
/// inner blanks kept); a `"` inside a word ends that word. Single quotes are ordinary characters.
/// `base_col` is the 1-based column of `text`'s first byte. On an unmatched quote the words so
/// far plus the rest of the line (without the quote) are returned along with the error.
pub(crate) fn tokenize(text: &str, base_col: u32) -> (Vec<Word>, Option<UnmatchedQuote>) {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    let col = |i: usize| base_col.saturating_add(u32::try_from(i).unwrap_or(u32::MAX));
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if bytes[i] == b'"' {
            let open = i;
            match text[i + 1..].find('"') {
                Some(rel) => {
                    words.push(Word {
                        text: text[i + 1..i + 1 + rel].to_string(),
                        col: col(open),
                    });
                    i = i + 1 + rel + 1;
                }
                None => {
                    words.push(Word {
                        text: text[i + 1..].to_string(),
                        col: col(open),
                    });
                    return (words, Some(UnmatchedQuote { col: col(open) }));
                }
            }
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'"' {
            i += 1;
        }
        words.push(Word {
            text: text[start..i].to_string(),
            col: col(start),
        });
    }
    (words, None)
}

/// Writes words back as one line that [`tokenize`] reads as the same words.
///
/// Words with blanks, or empty words, are double-quoted. A word containing `"` cannot be
/// represented in keepalived's syntax; it is written as is (callers avoid such words).
#[cfg(test)]
pub(crate) fn join_words(words: &[String]) -> String {
    let mut out = String::new();
    for (n, w) in words.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        if w.is_empty() || w.chars().any(|c| c.is_ascii_whitespace()) {
            out.push('"');
            out.push_str(w);
            out.push('"');
        } else {
            out.push_str(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        tokenize(line, 1).0.into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn comments_outside_quotes_only() {
        assert_eq!(decomment("  priority 100 # c").0, "priority 100");
        assert_eq!(decomment("198.18.0.1/24 ! c").0, "198.18.0.1/24");
        assert_eq!(
            decomment(r#"notify "/bin/echo {x} #keep" # drop"#).0,
            r#"notify "/bin/echo {x} #keep""#
        );
        assert_eq!(decomment("router_id 'a#b'").0, "router_id 'a");
        assert_eq!(decomment(r"auth_pass ab\#cd").0, "auth_pass ab#cd");
        assert_eq!(decomment("\t x").1, 2);
    }

    #[test]
    fn braces_are_tokens_anywhere() {
        let p: Vec<&str> = split_braces("track_script { chk }")
            .into_iter()
            .map(|p| p.1)
            .collect();
        assert_eq!(p, ["track_script", "{", "chk", "}"]);
        let p: Vec<&str> = split_braces("80{").into_iter().map(|p| p.1).collect();
        assert_eq!(p, ["80", "{"]);
        let p: Vec<&str> = split_braces(r#"notify "a {b}""#)
            .into_iter()
            .map(|p| p.1)
            .collect();
        assert_eq!(p, [r#"notify "a {b}""#]);
    }

    #[test]
    fn double_quotes_group_single_do_not() {
        assert_eq!(texts(r#"vrrp_instance "VI Q""#), ["vrrp_instance", "VI Q"]);
        assert_eq!(
            texts("router_id 'my router'"),
            ["router_id", "'my", "router'"]
        );
        assert_eq!(texts(r#"a"b c""#), ["a", "b c"]);
        let (w, e) = tokenize(r#"notify "/bin/true"#, 1);
        assert_eq!(e, Some(UnmatchedQuote { col: 8 }));
        assert_eq!(w[1].text, "/bin/true");
        assert_eq!(tokenize("  a bb", 5).0[1].col, 9);
    }
}

#[cfg(test)]
mod round_trip {
    use super::{join_words, tokenize};
    use proptest::prelude::*;

    proptest! {
    #[test]
    fn tokenize_round_trips(words in prop::collection::vec("[^\"\\s]{1,8}|[^\"\\n\\r]{0,8}", 0..10)) {
        // Words that tokenize can represent: no double quote; blanks only inside (quoted) words.
        let words: Vec<String> = words;
        let line = join_words(&words);
        let got: Vec<String> = tokenize(&line, 1).0.into_iter().map(|w| w.text).collect();
        prop_assert_eq!(got, words);
    }
    }
}
