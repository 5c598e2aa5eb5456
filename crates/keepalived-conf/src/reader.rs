//! Turns files into logical lines exactly as keepalived's reader does: physical lines,
//! comments, `include`, `@id` conditionals, `$NAME=` definitions, `~SEQ`/`~LST` repeats,
//! `$` expansion, then braces split off as lines of their own, then words.

use crate::defs::{self, Defs};
use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::lexer::{self, Word};
use crate::resolver::{IncludeResolver, ResolveError};
use crate::seq;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Nesting bound for `include`.
pub(crate) const MAX_INCLUDE_DEPTH: usize = 16;
/// Bound on the number of files one load may read.
pub(crate) const MAX_FILES: usize = 1024;
/// Default bound on logical lines one load may produce (after repeats and expansion);
/// about 40 times the 1,000-instance benchmark configuration.
pub const MAX_LINES: usize = 1_000_000;

/// One logical line: either a single brace or the words between braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub file: Arc<str>,
    pub line: u32,
    /// The text of this logical line after expansion (what script keywords re-split).
    pub text: String,
    /// 1-based column of `text`'s first byte.
    pub col: u32,
    pub words: Vec<Word>,
}

impl Line {
    /// `{`, or a quoted `"{"` (see [`Line::is_close`]).
    pub(crate) fn is_open(&self) -> bool {
        self.text == "{" || (self.words.len() == 1 && self.words[0].text == "{")
    }
    /// `}`, or a line that is only a quoted `"}"`: keepalived strips the quotes before it
    /// looks for the end of a block (its brace count, which skips quotes, then reports the
    /// block as unclosed: see [`quoted_closes`]).
    pub(crate) fn is_close(&self) -> bool {
        self.text == "}" || (self.words.len() == 1 && self.words[0].text == "}")
    }
}

/// What reading produced.
#[derive(Debug, Default)]
pub(crate) struct ReadOutput {
    pub lines: Vec<Line>,
    pub diags: Vec<Diagnostic>,
    /// The main file could not be read at all.
    pub main_unreadable: bool,
}

/// Reads `path` and everything it includes.
pub(crate) fn read_config(
    resolver: &dyn IncludeResolver,
    path: &Path,
    config_id: &str,
    seed: u64,
    max_lines: usize,
) -> ReadOutput {
    let mut r = Reader {
        resolver,
        config_id,
        defs: Defs::new(seed),
        stack: Vec::new(),
        files_read: 0,
        out: ReadOutput::default(),
        line_budget_hit: false,
        max_lines,
    };
    r.read_file(path, true);
    quoted_closes(&mut r.out);
    r.out
}

/// keepalived 2.2.7 takes a quoted `"}"` / `"{"` as the brace, but its brace count skips quoted
/// text: when the unquoted braces then do not balance it reports "There are N missing '}'s or
/// extra '{'s" (class 5). Said once, at the first quoted brace.
fn quoted_closes(out: &mut ReadOutput) {
    let braces = |open: bool| {
        out.lines
            .iter()
            .filter(|l| l.text == if open { "{" } else { "}" })
            .count()
    };
    let (opens, closes) = (braces(true), braces(false));
    let first = out
        .lines
        .iter()
        .find(|l| (l.is_open() || l.is_close()) && l.text != "{" && l.text != "}");
    if let Some(l) = first
        && opens != closes
    {
        out.diags.push(Diagnostic {
            severity: Severity::Warning,
            class: ExitClass::ConfigError,
            file: l.file.clone(),
            line: l.line,
            column: l.col,
            keyword: l.words[0].text.clone(),
            message: format!(
                "a quoted brace acts as one, as in keepalived, whose brace count skips quoted \
                 text: There are {} missing '}}'s or extra '{{'s",
                opens.abs_diff(closes)
            ),
        });
    }
}

struct Reader<'r> {
    resolver: &'r dyn IncludeResolver,
    config_id: &'r str,
    defs: Defs,
    stack: Vec<PathBuf>,
    files_read: usize,
    out: ReadOutput,
    line_budget_hit: bool,
    max_lines: usize,
}

/// Where a piece of text came from, for diagnostics.
#[derive(Clone)]
struct Origin {
    file: Arc<str>,
    line: u32,
    pwd: Arc<str>,
}

const INCLUDE_WORDS: [&str; 6] = [
    "include", "includer", "includem", "includew", "includeb", "includea",
];

impl Reader<'_> {
    fn diag(
        &mut self,
        o: &Origin,
        col: u32,
        sev: Severity,
        class: ExitClass,
        kw: &str,
        msg: String,
    ) {
        self.out.diags.push(Diagnostic {
            severity: sev,
            class,
            file: o.file.clone(),
            line: o.line,
            column: col,
            keyword: kw.to_string(),
            message: msg,
        });
    }

    fn read_file(&mut self, path: &Path, main: bool) {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        let pwd: Arc<str> = Arc::from(
            path.parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_str(),
        );
        let bytes = match self.resolver.read(path) {
            Ok(b) => b,
            Err(e) => {
                let o = Origin {
                    file: name,
                    line: 0,
                    pwd,
                };
                if main {
                    // keepalived -t exits 0 here (issue #955); a daemon without its
                    // configuration cannot run, so vrrpd says so (docs/keepalived-compat.md).
                    self.out.main_unreadable = true;
                    let msg = match e {
                        ResolveError::NotFound { .. } => "configuration file not found".to_string(),
                        other => format!("cannot read configuration file: {other}"),
                    };
                    self.diag(&o, 0, Severity::Fatal, ExitClass::CannotRun, "", msg);
                } else {
                    self.diag(
                        &o,
                        0,
                        Severity::Warning,
                        ExitClass::None,
                        "include",
                        format!("included file cannot be read: {e}"),
                    );
                }
                return;
            }
        };
        self.files_read += 1;
        self.stack.push(path.to_path_buf());
        let mut pending_def: Option<(String, String)> = None;
        let mut line_no: u32 = 0;
        for raw in bytes.split(|b| *b == b'\n') {
            line_no = line_no.saturating_add(1);
            if self.line_budget_hit {
                break;
            }
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let origin = Origin {
                file: name.clone(),
                line: line_no,
                pwd: pwd.clone(),
            };
            if raw.contains(&0) {
                self.diag(
                    &origin,
                    0,
                    Severity::Warning,
                    ExitClass::None,
                    "",
                    "line contains a NUL byte - ignored".into(),
                );
                continue;
            }
            // keepalived 2.2.7 reads with a 1024-byte buffer: a longer line is read as several.
            let chunks: Vec<&[u8]> = if raw.len() > lexer::MAX_LINE_BYTES + 1 {
                self.diag(
                    &origin,
                    0,
                    Severity::Warning,
                    ExitClass::None,
                    "",
                    format!(
                        "line longer than {} bytes: read in pieces, as keepalived does",
                        lexer::MAX_LINE_BYTES + 1
                    ),
                );
                raw.chunks(lexer::MAX_LINE_BYTES + 1).collect()
            } else {
                vec![raw]
            };
            for chunk in chunks {
                let text = String::from_utf8_lossy(chunk);
                self.physical_line(&text, &origin, &mut pending_def);
            }
        }
        if let Some((n, v)) = pending_def.take() {
            self.defs.set(&n, v);
        }
        self.stack.pop();
    }

    fn physical_line(&mut self, raw: &str, o: &Origin, pending_def: &mut Option<(String, String)>) {
        let (text, off) = lexer::decomment(raw);
        let col = u32::try_from(off + 1).unwrap_or(u32::MAX);
        if let Some((name, mut value)) = pending_def.take() {
            // Continuation of a `$NAME=... \` definition.
            let (part, more) = strip_continuation(&text);
            value.push('\n');
            value.push_str(part);
            if more {
                *pending_def = Some((name, value));
            } else {
                self.defs.set(&name, value);
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        let (words, _) = lexer::tokenize(&text, col);
        if let Some(first) = words.first() {
            if INCLUDE_WORDS.contains(&first.text.as_str()) {
                self.include(&first.text, words.get(1), o);
                return;
            }
        }
        self.logical_text(text, col, o, pending_def, 0);
    }

    /// Conditionals, definitions, repeats, expansion, braces: one (possibly repeated) line.
    fn logical_text(
        &mut self,
        text: String,
        col: u32,
        o: &Origin,
        pending_def: &mut Option<(String, String)>,
        depth: usize,
    ) {
        let mut text = text;
        let mut col = col;
        if let Some(cond) = text.strip_prefix('@') {
            let id_len = cond.find(char::is_whitespace).unwrap_or(cond.len());
            let (negated, id) = match cond[..id_len].strip_prefix('^') {
                Some(id) => (true, id),
                None => (false, &cond[..id_len]),
            };
            if (id == self.config_id) == negated {
                return;
            }
            let rest = cond[id_len..].trim_start();
            if rest.is_empty() {
                return;
            }
            col += u32::try_from(text.len() - rest.len()).unwrap_or(0);
            text = rest.to_string();
        }
        if let Some((name, value)) = defs::parse_definition(&text) {
            let (value, more) = strip_continuation(value);
            if more {
                *pending_def = Some((name.to_string(), value.to_string()));
            } else {
                self.defs.set(name, value.to_string());
            }
            return;
        }
        if seq::is_repeat(&text) {
            if depth >= 8 {
                self.diag(
                    o,
                    col,
                    Severity::Error,
                    ExitClass::ConfigError,
                    "",
                    "more than 8 chained ~SEQ/~LST - line ignored".into(),
                );
                return;
            }
            match seq::parse(&text) {
                Ok(rep) => {
                    let old = self.defs.set(&rep.var, String::new());
                    let rest_col = col + u32::try_from(text.len() - rep.rest.len()).unwrap_or(0);
                    for v in &rep.values {
                        if self.line_budget_hit {
                            break;
                        }
                        self.defs.set(&rep.var, v.clone());
                        self.logical_text(
                            rep.rest.to_string(),
                            rest_col,
                            o,
                            pending_def,
                            depth + 1,
                        );
                    }
                    match old {
                        Some(prev) => {
                            self.defs.set(&rep.var, prev);
                        }
                        None => self.defs.remove(&rep.var),
                    }
                }
                Err(e) => self.diag(
                    o,
                    col,
                    Severity::Error,
                    ExitClass::ConfigError,
                    "",
                    e.to_string(),
                ),
            }
            return;
        }
        let expanded = if text.contains('$') {
            let resolver = self.resolver;
            let env = |n: &str| resolver.env_var(n);
            let ctx = defs::Context {
                pwd: &o.pwd,
                instance: self.config_id,
                env: &env,
            };
            match self.defs.expand(&text, &ctx) {
                Some(t) => t,
                None => {
                    self.diag(
                        o,
                        col,
                        Severity::Error,
                        ExitClass::ConfigError,
                        "",
                        format!(
                            "line longer than {} bytes after $ expansion - ignored",
                            defs::MAX_EXPANDED
                        ),
                    );
                    return;
                }
            }
        } else {
            text
        };
        for (n, part) in expanded.split('\n').enumerate() {
            let part_col = if n == 0 { col } else { 1 };
            let part = part.trim();
            if !part.is_empty() {
                self.split_and_push(part, part_col, o);
            }
        }
    }

    fn split_and_push(&mut self, text: &str, col: u32, o: &Origin) {
        for (off, piece) in lexer::split_braces(text) {
            if self.out.lines.len() >= self.max_lines {
                if !self.line_budget_hit {
                    self.line_budget_hit = true;
                    self.diag(
                        o,
                        col,
                        Severity::Fatal,
                        ExitClass::CannotRun,
                        "",
                        format!(
                            "configuration expands to more than {} lines - reading stopped",
                            self.max_lines
                        ),
                    );
                }
                return;
            }
            let pcol = col + u32::try_from(off).unwrap_or(0);
            let (words, unmatched) = lexer::tokenize(piece, pcol);
            if let Some(u) = unmatched {
                self.diag(
                    o,
                    u.col,
                    Severity::Error,
                    ExitClass::ConfigError,
                    words.first().map(|w| w.text.as_str()).unwrap_or(""),
                    "unmatched quote: the word runs to the end of the line".into(),
                );
            }
            let mut words = words;
            // A quoted "{" ending a line opens a block, as keepalived reads it.
            let quoted_open = words.len() > 1
                && words.last().is_some_and(|w| w.text == "{")
                && piece.trim_end().ends_with("\"{\"");
            let opener = if quoted_open { words.pop() } else { None };
            let text = match &opener {
                Some(w) => piece[..(w.col - pcol) as usize].trim_end().to_string(),
                None => piece.to_string(),
            };
            self.out.lines.push(Line {
                file: o.file.clone(),
                line: o.line,
                text,
                col: pcol,
                words,
            });
            if let Some(w) = opener {
                self.out.lines.push(Line {
                    file: o.file.clone(),
                    line: o.line,
                    text: "\"{\"".into(),
                    col: w.col,
                    words: vec![w],
                });
            }
        }
    }

    fn include(&mut self, kind: &str, arg: Option<&Word>, o: &Origin) {
        let strict = kind != "include";
        let (class, sev) = if strict {
            (ExitClass::ConfigError, Severity::Error)
        } else {
            (ExitClass::None, Severity::Warning)
        };
        let Some(arg) = arg else {
            self.diag(
                o,
                0,
                sev,
                class,
                kind,
                format!("`{kind}` needs a file name"),
            );
            return;
        };
        if self.stack.len() >= MAX_INCLUDE_DEPTH || self.files_read >= MAX_FILES {
            self.diag(o, arg.col, Severity::Error, ExitClass::ConfigError, kind,
                format!("includes nested deeper than {MAX_INCLUDE_DEPTH} or more than {MAX_FILES} files - `{}` not read", arg.text));
            return;
        }
        let base = Path::new(&*o.pwd);
        let mut matched = Vec::new();
        for pattern in expand_braces(&arg.text) {
            let full = if Path::new(&pattern).is_absolute() {
                pattern
            } else {
                // The including file's directory is literal: escape glob characters in it.
                let escaped = glob::Pattern::escape(&base.to_string_lossy());
                normalize(&Path::new(&escaped).join(&pattern))
                    .to_string_lossy()
                    .into_owned()
            };
            match self.resolver.glob(&full) {
                Ok(found) => matched.extend(found),
                Err(e) => self.diag(o, arg.col, sev, class, kind, e.to_string()),
            }
        }
        if matched.is_empty() {
            self.diag(
                o,
                arg.col,
                sev,
                class,
                kind,
                format!("config files missing '{}'", arg.text),
            );
            return;
        }
        for path in matched {
            if self.stack.contains(&path) {
                self.diag(
                    o,
                    arg.col,
                    Severity::Error,
                    ExitClass::ConfigError,
                    kind,
                    format!(
                        "include loop: {} is already being read - not read again",
                        path.display()
                    ),
                );
                continue;
            }
            self.read_file(&path, false);
        }
    }
}

/// Removes `.` and `..` components lexically, so include loops are recognised by name.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A trailing `\` continues a `$NAME=` definition on the next line.
fn strip_continuation(text: &str) -> (&str, bool) {
    match text.strip_suffix('\\') {
        Some(t) => (t.trim_end(), true),
        None => (text, false),
    }
}

/// `a{b,c}d` -> `abd`, `acd` (glob's GLOB_BRACE), bounded to 1024 results.
pub(crate) fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &pattern[w[0] + 1..w[1]];
        for e in expand_braces(&format!("{head}{alt}{tail}")) {
            if out.len() >= 1024 {
                return out;
            }
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolver::MemResolver;

    fn texts(r: &MemResolver, id: &str) -> Vec<String> {
        read_config(r, Path::new("/c/main.conf"), id, 1, MAX_LINES)
            .lines
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn includes_relative_nested_and_loop_safe() {
        let r = MemResolver::new()
            .with_file("/c/main.conf", "a 1\ninclude inc/*.conf\nb 2\n")
            .with_file("/c/inc/x.conf", "x {\ninclude ../main.conf\n}")
            .with_file("/c/inc/y.conf", "y");
        let out = read_config(&r, Path::new("/c/main.conf"), "n", 1, MAX_LINES);
        let t: Vec<&str> = out.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["a 1", "x", "{", "}", "y", "b 2"]);
        assert!(out.diags.iter().any(|d| d.message.contains("include loop")));
        assert_eq!(&*out.lines[4].file, "/c/inc/y.conf");
    }

    #[test]
    fn conditionals_definitions_repeats() {
        let r = MemResolver::new().with_file(
            "/c/main.conf",
            "@nodeA p 1\n@^nodeA p 2\n$V=9\n$M=l1 \\\nl2\nq $V ${V}x\n$M\n~SEQ(N, 2) v${N} {\n",
        );
        assert_eq!(
            texts(&r, "nodeA"),
            ["p 1", "q 9 9x", "l1", "l2", "v1", "{", "v2", "{"]
        );
    }

    #[test]
    fn long_lines_split_like_2_2_7() {
        let long = format!("router_id {}", "0".repeat(1024));
        let r = MemResolver::new().with_file("/c/main.conf", long);
        let t = texts(&r, "n");
        assert_eq!(t.len(), 2);
        assert_eq!(t[1], "0".repeat(11));
    }

    #[test]
    fn include_dir_with_glob_characters_is_literal() {
        let r = MemResolver::new()
            .with_file("/c[1]/main.conf", "include x.conf\n")
            .with_file("/c[1]/x.conf", "inside")
            .with_file("/c1/x.conf", "wrong");
        let out = read_config(&r, Path::new("/c[1]/main.conf"), "n", 1, MAX_LINES);
        let t: Vec<&str> = out.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(t, ["inside"]);
    }

    #[test]
    fn braces_expand() {
        assert_eq!(
            expand_braces("a{b,c}d{1,2}"),
            ["abd1", "abd2", "acd1", "acd2"]
        );
    }
}
