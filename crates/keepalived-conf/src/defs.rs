//! `$NAME=VALUE` definitions and their use-time expansion (`$NAME`, `${NAME}`, predefined
//! `${_PWD}`, `${_INSTANCE}`, `${_RANDOM}`, `${_ENV}`, `${_HASH}`, `${_BANG}`).

use std::collections::HashMap;

/// Bound on nested expansion, so `$A=$B`, `$B=$A` terminates.
const MAX_DEPTH: usize = 32;
/// Bound on the length of one expanded line.
pub(crate) const MAX_EXPANDED: usize = 64 * 1024;

/// Values the predefined names take while one file is read.
pub(crate) struct Context<'a> {
    pub pwd: &'a str,
    pub instance: &'a str,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The definitions seen so far plus the random generator of `${_RANDOM}`.
#[derive(Debug, Clone)]
pub(crate) struct Defs {
    values: HashMap<String, String>,
    rng: u64,
}

/// Whether `name` may be defined: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Splits `$NAME=VALUE` into name and value, if the line is a definition.
pub(crate) fn parse_definition(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    is_name(name).then(|| (name, rest[eq + 1..].trim()))
}

impl Defs {
    pub(crate) fn new(seed: u64) -> Self {
        Defs {
            values: HashMap::new(),
            rng: seed | 1,
        }
    }

    pub(crate) fn set(&mut self, name: &str, value: String) -> Option<String> {
        self.values.insert(name.to_string(), value)
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    fn random(&mut self, min: u64, max: u64) -> u64 {
        // xorshift64: ${_RANDOM} needs variety, not cryptographic quality.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        if max <= min {
            return min;
        }
        min + self.rng % (max - min + 1)
    }

    /// Expands every reference in `text`; undefined names are left as written.
    /// Returns `None` if the result would exceed [`MAX_EXPANDED`] bytes.
    pub(crate) fn expand(&mut self, text: &str, ctx: &Context<'_>) -> Option<String> {
        if !text.contains('$') {
            return Some(text.to_string());
        }
        let mut out = String::with_capacity(text.len());
        self.expand_into(text, ctx, 0, &mut out).then_some(out)
    }

    fn expand_into(
        &mut self,
        text: &str,
        ctx: &Context<'_>,
        depth: usize,
        out: &mut String,
    ) -> bool {
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            let (replacement, consumed) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(close) => (self.lookup_braced(&inner[..close], ctx), close + 2),
                    None => (None, 0),
                }
            } else {
                let len = after
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                let name = &after[..len];
                let at_word_end = after[len..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_ascii_whitespace());
                if len > 0 && is_name(name) && at_word_end {
                    (self.values.get(name).cloned(), len)
                } else {
                    (None, 0)
                }
            };
            match replacement {
                Some(value) if depth < MAX_DEPTH => {
                    if !self.expand_into(&value, ctx, depth + 1, out) {
                        return false;
                    }
                    rest = &after[consumed..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
            if out.len() > MAX_EXPANDED {
                return false;
            }
        }
        out.push_str(rest);
        out.len() <= MAX_EXPANDED
    }

    fn lookup_braced(&mut self, inner: &str, ctx: &Context<'_>) -> Option<String> {
        let mut words = inner.split_whitespace();
        let name = words.next()?;
        match name {
            "_PWD" => Some(ctx.pwd.to_string()),
            "_INSTANCE" => Some(ctx.instance.to_string()),
            "_HASH" => Some("#".to_string()),
            "_BANG" => Some("!".to_string()),
            "_ENV" => Some(words.next().and_then(|n| (ctx.env)(n)).unwrap_or_default()),
            "_RANDOM" => {
                let min = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                let max = words.next().and_then(|w| w.parse().ok()).unwrap_or(32767);
                Some(self.random(min, max).to_string())
            }
            _ if inner == name => self.values.get(name).cloned(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context<'static> {
        Context {
            pwd: "/etc/k",
            instance: "nodeA",
            env: &|n| (n == "HOME").then(|| "/root".to_string()),
        }
    }

    #[test]
    fn use_time_recursive_undefined_kept() {
        let mut d = Defs::new(1);
        d.set("BASE", "10.99.${SUB}".into());
        d.set("SUB", "4".into());
        assert_eq!(
            d.expand("${BASE}/24 $BASE", &ctx()).unwrap(),
            "10.99.4/24 10.99.4"
        );
        assert_eq!(
            d.expand("$BASEx ${nope} $", &ctx()).unwrap(),
            "$BASEx ${nope} $"
        );
        assert_eq!(
            d.expand("${_PWD} ${_INSTANCE} ${_HASH}${_BANG} ${_ENV HOME}", &ctx())
                .unwrap(),
            "/etc/k nodeA #! /root"
        );
        assert_eq!(d.expand("${_RANDOM 5 5}", &ctx()).unwrap(), "5");
    }

    #[test]
    fn self_reference_terminates() {
        let mut d = Defs::new(1);
        d.set("A", "x$A".into());
        let out = d.expand("$A", &ctx()).unwrap();
        assert!(out.starts_with("xxx"));
    }

    #[test]
    fn definitions() {
        assert_eq!(parse_definition("$PRIO=240"), Some(("PRIO", "240")));
        assert_eq!(parse_definition("$E="), Some(("E", "")));
        assert_eq!(parse_definition("$1X=2"), None);
        assert_eq!(parse_definition("$X y=2"), None);
    }
}
