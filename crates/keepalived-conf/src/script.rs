//! Script strings (`script`, `notify*`, ...) as keepalived splits them: the raw text after the
//! keyword is re-split honouring both `'` and `"`; word 1 is the command, word 2 the user,
//! word 3 the group. The command is then split into argv with quote and escape processing.

use serde::Serialize;

/// A command as configured, with its optional run-as user and group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptCommand {
    /// The command string exactly as the first script word (quotes removed).
    pub argv_source: String,
    /// `argv_source` split into arguments (quotes and `\` escapes processed).
    pub argv: Vec<String>,
    /// User to run as (the word after the command), if given.
    pub user: Option<String>,
    /// Group as written without a leading `:`.
    pub group: Option<String>,
    /// The group was written `:group` (also sets supplementary groups in keepalived).
    pub supplementary_groups: bool,
}

/// Splits `text` into words where both quote kinds group (no escapes): keepalived's
/// script-keyword tokenisation.
fn script_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Splits a command string into argv: blanks separate, `'...'` and `"..."` group, `\` escapes
/// (`\a \b \E \f \n \r \t \v \nnn \xXX \cC`, and `\C` = `C`).
pub fn split_argv(cmd: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote != Some('\'') => {
                in_word = true;
                let Some(e) = chars.next() else {
                    cur.push('\\');
                    break;
                };
                match e {
                    'a' => cur.push('\x07'),
                    'b' => cur.push('\x08'),
                    'E' => cur.push('\x1b'),
                    'f' => cur.push('\x0c'),
                    'n' => cur.push('\n'),
                    'r' => cur.push('\r'),
                    't' => cur.push('\t'),
                    'v' => cur.push('\x0b'),
                    'c' => {
                        if let Some(k) = chars.next() {
                            cur.push(char::from((k as u32 & 0x1f) as u8));
                        }
                    }
                    'x' => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while n < 2 && chars.peek().is_some_and(|d| d.is_ascii_hexdigit()) {
                            v = v * 16 + chars.next().and_then(|d| d.to_digit(16)).unwrap_or(0);
                            n += 1;
                        }
                        cur.push(char::from_u32(v).unwrap_or('?'));
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        let mut n = 1;
                        while n < 3 && chars.peek().is_some_and(|d| ('0'..='7').contains(d)) {
                            v = v * 8 + chars.next().and_then(|d| d.to_digit(8)).unwrap_or(0);
                            n += 1;
                        }
                        cur.push(char::from_u32(v & 0xff).unwrap_or('?'));
                    }
                    other => cur.push(other),
                }
            }
            q @ ('"' | '\'') if quote.is_none() => {
                quote = Some(q);
                in_word = true;
            }
            q if Some(q) == quote => quote = None,
            w if w.is_whitespace() && quote.is_none() => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            other => {
                cur.push(other);
                in_word = true;
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    args
}

/// Parses the text after a script keyword. `None` when there is no command word.
pub fn parse_script(rest: &str) -> Option<ScriptCommand> {
    let mut words = script_words(rest).into_iter();
    let cmd = words.next()?;
    let user = words.next();
    let (group, supplementary_groups) = match words.next() {
        Some(g) => match g.strip_prefix(':') {
            Some(g) => (Some(g.to_string()), true),
            None => (Some(g), false),
        },
        None => (None, false),
    };
    Some(ScriptCommand {
        argv: split_argv(&cmd),
        argv_source: cmd,
        user,
        group,
        supplementary_groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_words_are_user_and_group() {
        let s = parse_script("/path/x.sh arg").unwrap();
        assert_eq!(s.argv, ["/path/x.sh"]);
        assert_eq!(s.user.as_deref(), Some("arg"));
        let s = parse_script(r#""killall -0 haproxy" root :wheel"#).unwrap();
        assert_eq!(s.argv, ["killall", "-0", "haproxy"]);
        assert_eq!(s.group.as_deref(), Some("wheel"));
        assert!(s.supplementary_groups);
        let s = parse_script(r#"'/bin/sh -c "echo a\tb"'"#).unwrap();
        assert_eq!(s.argv, ["/bin/sh", "-c", "echo a\tb"]);
        assert_eq!(split_argv(r"a\x41\101\q 'x y'"), ["aAAq", "x y"]);
        assert!(parse_script("   ").is_none());
    }
}
