//! `~SEQ(var, [start,] [step,] end)`, `~SEQx(...)` (hex values) and `~LST(var, v1, v2, ...)`:
//! a line prefix that repeats the rest of the line once per value, with `var` defined.

/// Upper bound on the values one sequence may produce (keeps a typo from eating memory).
pub(crate) const MAX_VALUES: usize = 100_000;

/// A parsed `~SEQ`/`~LST` prefix: the variable, its values, and the rest of the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Repeat<'a> {
    pub var: String,
    pub values: Vec<String>,
    pub rest: &'a str,
}

/// Why a `~SEQ`/`~LST` prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} specification: {reason}")]
pub(crate) struct RepeatError {
    pub kind: &'static str,
    pub reason: String,
}

/// Whether the line starts with a repeat prefix.
pub(crate) fn is_repeat(text: &str) -> bool {
    text.starts_with("~SEQ(") || text.starts_with("~SEQx(") || text.starts_with("~LST(")
}

/// Parses the prefix of a line for which [`is_repeat`] holds.
pub(crate) fn parse(text: &str) -> Result<Repeat<'_>, RepeatError> {
    let (kind, hex, body) = if let Some(b) = text.strip_prefix("~SEQx(") {
        ("~SEQx", true, b)
    } else if let Some(b) = text.strip_prefix("~SEQ(") {
        ("~SEQ", false, b)
    } else if let Some(b) = text.strip_prefix("~LST(") {
        ("~LST", false, b)
    } else {
        return Err(err("~SEQ", "not a repeat prefix"));
    };
    let close = body.find(')').ok_or_else(|| err(kind, "missing ')'"))?;
    let args: Vec<&str> = body[..close].split(',').map(str::trim).collect();
    let rest = body[close + 1..].trim_start();
    let var = args[0];
    if !crate::defs::is_name(var) {
        return Err(err(kind, &format!("bad variable name {var:?}")));
    }
    let values = if kind == "~LST" {
        if args.len() < 2 {
            return Err(err(kind, "no values"));
        }
        let vals = &args[1..];
        if vals
            .iter()
            .any(|v| v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '"'))
        {
            return Err(err(kind, "values must be single plain words"));
        }
        vals.iter().map(|v| v.to_string()).collect()
    } else {
        let nums: Vec<i64> = args[1..]
            .iter()
            .map(|a| {
                a.parse::<i64>()
                    .map_err(|_| err(kind, &format!("bad number {a:?}")))
            })
            .collect::<Result<_, _>>()?;
        let (start, step, end) = match nums.as_slice() {
            [end] => (1, 1, *end),
            [start, end] => (*start, 1, *end),
            [start, step, end] => (*start, *step, *end),
            _ => return Err(err(kind, "expects 2 to 4 arguments")),
        };
        if step == 0 || (step > 0 && start > end) || (step < 0 && start < end) {
            return Err(err(kind, "the sequence is empty or endless"));
        }
        let count = (end.abs_diff(start) / step.unsigned_abs()).saturating_add(1);
        if count > MAX_VALUES as u64 {
            return Err(err(kind, &format!("more than {MAX_VALUES} values")));
        }
        (0..count as i64)
            .map(|k| {
                let v = start + k * step;
                if hex { format!("{v:x}") } else { v.to_string() }
            })
            .collect()
    };
    Ok(Repeat {
        var: var.to_string(),
        values,
        rest,
    })
}

fn err(kind: &'static str, reason: &str) -> RepeatError {
    RepeatError {
        kind,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(t: &str) -> Vec<String> {
        parse(t).unwrap().values
    }

    #[test]
    fn forms_seen_in_keepalived_2_2_7() {
        assert_eq!(vals("~SEQ(N, 3) x"), ["1", "2", "3"]);
        assert_eq!(vals("~SEQ(N, 2, 4) x"), ["2", "3", "4"]);
        assert_eq!(vals("~SEQ(N, 10, -3, 4) x"), ["10", "7", "4"]);
        assert_eq!(vals("~SEQx(N, 9, 3, 15) x"), ["9", "c", "f"]);
        assert_eq!(vals("~LST(N, a, b) x"), ["a", "b"]);
        assert_eq!(
            parse("~SEQ(A, 1, 2) ~LST(B, x) y").unwrap().rest,
            "~LST(B, x) y"
        );
        assert!(parse("~LST(N, a, b c) x").is_err());
        assert!(parse("~SEQ(N, 1, 0, 3) x").is_err());
        assert!(parse("~SEQ(N, 1, 1000000) x").is_err());
    }
}
