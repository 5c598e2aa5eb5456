//! keepalived's splitting of a script string into argv (reference a.3): whitespace separates
//! words, single and double quotes group words, and backslash escapes are decoded outside
//! single quotes. Pure, so it can be tested and fuzzed without processes.

use thiserror::Error;

/// Why a command string could not be split into words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SplitError {
    #[error("unmatched {0} quote in script command")]
    UnmatchedQuote(char),
    #[error("script command is empty")]
    Empty,
}

/// Splits `command` into argv the way keepalived does for `script`/`notify*` strings.
///
/// Escapes understood (outside single quotes): `\a \b \E \f \n \r \t \v`, `\nnn` (octal, up
/// to three digits), `\xXX` (hex, up to two digits), `\cC` (control character) and `\C` for
/// any other character `C` (so `\\`, `\"` and `\ ` work as expected).
pub fn split_argv(command: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => current.push(c),
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (_, '\\') => {
                in_word = true;
                decode_escape(&mut chars, &mut current);
            }
            (_, c) => {
                in_word = true;
                current.push(c);
            }
        }
    }
    if let Some(q) = quote {
        return Err(SplitError::UnmatchedQuote(q));
    }
    if in_word {
        words.push(current);
    }
    if words.is_empty() {
        return Err(SplitError::Empty);
    }
    Ok(words)
}

/// Decodes one escape sequence whose backslash has already been consumed.
fn decode_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    let Some(c) = chars.next() else {
        // A trailing backslash stands for itself.
        out.push('\\');
        return;
    };
    match c {
        'a' => out.push('\u{07}'),
        'b' => out.push('\u{08}'),
        'E' => out.push('\u{1b}'),
        'f' => out.push('\u{0c}'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        't' => out.push('\t'),
        'v' => out.push('\u{0b}'),
        'x' => {
            let value = take_digits(chars, 16, 2);
            match value {
                Some(v) => out.push(char::from(v as u8)),
                None => out.push('x'),
            }
        }
        'c' => match chars.next() {
            Some(ctl) if ctl.is_ascii() => out.push(char::from((ctl as u8) & 0x1f)),
            Some(other) => out.push(other),
            None => out.push('c'),
        },
        '0'..='7' => {
            let mut value = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        value = value * 8 + d;
                        chars.next();
                    }
                    None => break,
                }
            }
            out.push(char::from((value & 0xff) as u8));
        }
        other => out.push(other),
    }
}

fn take_digits(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    radix: u32,
    max: usize,
) -> Option<u32> {
    let mut value = None;
    for _ in 0..max {
        match chars.peek().and_then(|d| d.to_digit(radix)) {
            Some(d) => {
                value = Some(value.unwrap_or(0) * radix + d);
                chars.next();
            }
            None => break,
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_argv(s).expect("splits")
    }

    #[test]
    fn plain_words_split_on_whitespace() {
        assert_eq!(split("killall -0   haproxy"), ["killall", "-0", "haproxy"]);
        assert_eq!(split("  /bin/true\t"), ["/bin/true"]);
    }

    #[test]
    fn quotes_group_words_and_are_removed() {
        assert_eq!(
            split(r#"/bin/echo "a b" 'c  d'"#),
            ["/bin/echo", "a b", "c  d"]
        );
        assert_eq!(split(r#"x"y z"w"#), ["xy zw"]);
        assert_eq!(split(r#"a "" b"#), ["a", "", "b"]);
    }

    #[test]
    fn escapes_are_decoded_outside_single_quotes() {
        assert_eq!(split(r"a\ b \x41\101\t"), ["a b", "AA\t"]);
        assert_eq!(split(r"'\n'"), [r"\n"]);
        assert_eq!(split(r#""\"q\"""#), ["\"q\""]);
        assert_eq!(split(r"\cA"), ["\u{1}"]);
        assert_eq!(split(r"end\"), [r"end\"]);
    }

    #[test]
    fn unmatched_quote_and_empty_are_errors() {
        assert_eq!(split_argv("a 'b"), Err(SplitError::UnmatchedQuote('\'')));
        assert_eq!(split_argv("\"b"), Err(SplitError::UnmatchedQuote('"')));
        assert_eq!(split_argv("   "), Err(SplitError::Empty));
    }
}
