//! From logical lines to the model: the block walker keepalived uses (keyword tables per
//! level, `{` on the same or next line, value blocks read line by line), plus the handlers.

mod addresses;
mod blocks;
mod garp_group;
mod global;
mod instance;
mod lvs;
mod process;
mod track_group;
mod trackers;
mod tuning;
pub(crate) use tuning::check_cpus;
mod up_down_delays;
pub(crate) mod values;

use crate::diag::{Diagnostic, ExitClass, Severity};
use crate::keywords::{self, Block, Status};
use crate::lexer::Word;
use crate::model::Config;
use crate::reader::Line;
use crate::suggest;
pub(crate) use instance::InstanceDraft;

/// A keyword lacked a required argument: keepalived exits 2 at once; so does loading.
#[derive(Debug)]
pub(crate) struct MissingParam;

pub(crate) type PResult<T> = Result<T, MissingParam>;

/// What the parse produced before the final checks.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub config: Config,
    pub instances: Vec<InstanceDraft>,
    /// Names of `instances`, for the duplicate check.
    pub instance_names: std::collections::HashSet<String>,
    /// Where things were written, for the whole-configuration checks.
    pub origins: crate::origin::Origins,
    /// Names of the `bfd_instance` blocks seen so far (`track_bfd` may only name those).
    pub bfd_names: std::collections::HashSet<String>,
    /// Scripts of LVS blocks (`misc_path`, `notify_up`, ...), for the security check.
    pub check_scripts: Vec<crate::script::ScriptCommand>,
    /// `BFD_CHECK` / `FILE_CHECK` references (where, name, is BFD), resolved at the end.
    pub lvs_refs: Vec<(crate::origin::At, String, bool)>,
    /// The checker block being read (`BFD_CHECK`, ...), empty outside one.
    pub lvs_checker: &'static str,
}

pub(crate) struct Parser<'a> {
    lines: &'a [Line],
    pos: usize,
    pub diags: Vec<Diagnostic>,
    pub draft: Draft,
    /// "did you mean" answers already computed, by block and word (configs generated with
    /// `~SEQ` can repeat one unknown word many thousand times).
    suggestions: std::collections::HashMap<(Block, String), Option<&'static str>>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(lines: &'a [Line]) -> Self {
        Parser {
            lines,
            pos: 0,
            diags: Vec::new(),
            draft: Draft::default(),
            suggestions: std::collections::HashMap::new(),
        }
    }

    // ---- diagnostics -------------------------------------------------------------------

    pub(crate) fn report(
        &mut self,
        line: &Line,
        word: usize,
        sev: Severity,
        class: ExitClass,
        msg: String,
    ) {
        let col = line.words.get(word).map(|w| w.col).unwrap_or(line.col);
        self.diags.push(Diagnostic {
            severity: sev,
            class,
            file: line.file.clone(),
            line: line.line,
            column: col,
            keyword: line
                .words
                .first()
                .map(|w| w.text.clone())
                .unwrap_or_default(),
            message: msg,
        });
    }

    /// A configuration error keepalived's `-t` counts (class 5).
    pub(crate) fn error(&mut self, line: &Line, word: usize, msg: String) {
        self.report(line, word, Severity::Error, ExitClass::ConfigError, msg);
    }

    /// Says what the keyword table says about a keyword line of `block`: nothing when honoured,
    /// a warning per occurrence when not honoured, an error when rejected; a keyword newer
    /// than keepalived 2.2.7 is also counted (class 5) as 2.2.7 would count it.
    pub(crate) fn keyword_status(&mut self, block: Block, line: &Line) {
        let kw = line.words[0].text.as_str();
        let newer = keywords::NEWER_THAN_2_2_7.contains(&kw);
        let class = if newer {
            ExitClass::ConfigError
        } else {
            ExitClass::None
        };
        let unknown = if newer {
            " (and keepalived 2.2.7 does not know it: a newer keepalived keyword)"
        } else {
            ""
        };
        match keywords::status(block, kw) {
            Some(Status::Honoured { .. }) if newer => self.report(line, 0, Severity::Warning, class, format!(
                "`{kw}` is unknown to keepalived 2.2.7 (a newer keepalived keyword); vrrpd honours it"
            )),
            Some(Status::NotHonoured { instead }) => self.report(
                line,
                0,
                Severity::Warning,
                class,
                format!("`{kw}` is not honoured by vrrpd{unknown}; instead: {instead}"),
            ),
            Some(Status::Rejected { why }) => self.error(line, 0, format!("`{kw}` is rejected: {why}")),
            Some(Status::Honoured { .. }) | None => {}
        }
    }

    // ---- line access -------------------------------------------------------------------

    fn next_line(&mut self) -> Option<&'a Line> {
        let l = self.lines.get(self.pos)?;
        self.pos += 1;
        Some(l)
    }

    fn peek_is_open(&self) -> bool {
        self.lines.get(self.pos).is_some_and(Line::is_open)
    }

    /// Word `i` of `line`, or the fatal missing-parameter diagnostic.
    pub(crate) fn arg<'l>(&mut self, line: &'l Line, i: usize) -> PResult<&'l Word> {
        match line.words.get(i) {
            Some(w) => Ok(w),
            None => {
                let kw = line.words.first().map(|w| w.text.as_str()).unwrap_or("");
                self.report(line, 0, Severity::Fatal, ExitClass::MissingParameter, format!(
                    "configuration line starting `{kw}` is missing a parameter after keyword `{kw}` at word position {}",
                    i + 1
                ));
                Err(MissingParam)
            }
        }
    }

    /// Word `i` of `line` for the keywords whose handler checks for it itself: a missing word is
    /// a class-5 error (`msg`), not keepalived's exit 2. `msg` empty: silently ignored.
    pub(crate) fn soft_arg<'l>(&mut self, line: &'l Line, i: usize, msg: &str) -> Option<&'l Word> {
        let w = line.words.get(i);
        if w.is_none() && !msg.is_empty() {
            self.error(line, 0, msg.to_string());
        }
        w
    }

    /// Consumes the `{` that must follow a block keyword (same or next line).
    ///
    /// Without it keepalived's VRRP process reports the fact and still reads the following
    /// lines as the block's body, up to a `}`; so does this parser (a missing argument in that
    /// body is then fatal, as in keepalived).
    fn open_block(&mut self, kw_line: &Line) -> bool {
        if self.peek_is_open() {
            self.pos += 1;
        } else {
            self.error(
                kw_line,
                0,
                "missing '{' at beginning of configuration block - reading the following lines as its body".into(),
            );
        }
        true
    }

    /// Skips a balanced block whose `{` is next (if it is).
    fn skip_block_if_any(&mut self) {
        if !self.peek_is_open() {
            return;
        }
        self.pos += 1;
        let mut depth = 1usize;
        while let Some(l) = self.next_line() {
            if l.is_open() {
                depth += 1;
            } else if l.is_close() {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
        }
    }

    /// A `{` that opens nothing: dropped, as keepalived drops it, so the lines after it are
    /// read at the current level (skipping to its `}` would lose them, the whole file when
    /// the brace is on the first line).
    fn stray_open(&mut self, l: &Line) {
        self.error(l, 0, "unexpected '{' - ignoring".into());
    }

    /// Runs `f` for each keyword line of the block whose `{` was just consumed, until its `}`.
    /// A stray `{` inside is reported and dropped; EOF before `}` is reported.
    fn each_in_block(
        &mut self,
        opener: &Line,
        mut f: impl FnMut(&mut Self, &'a Line) -> PResult<()>,
    ) -> PResult<()> {
        loop {
            let Some(l) = self.next_line() else {
                self.error(
                    opener,
                    0,
                    "missing '}' at end of block (end of file reached)".into(),
                );
                return Ok(());
            };
            if l.is_close() {
                return Ok(());
            }
            if l.is_open() {
                self.stray_open(l);
                continue;
            }
            f(self, l)?;
        }
    }

    /// The entry lines of a value block (`virtual_ipaddress { ... }`), after its keyword.
    fn value_block(&mut self, kw_line: &'a Line) -> Vec<&'a Line> {
        let mut out = Vec::new();
        if !self.open_block(kw_line) {
            return out;
        }
        loop {
            let Some(l) = self.next_line() else {
                self.error(
                    kw_line,
                    0,
                    "missing '}' at end of block (end of file reached)".into(),
                );
                return out;
            };
            if l.is_close() {
                return out;
            }
            if l.is_open() {
                self.error(l, 0, "unexpected '{' in a list - block skipped".into());
                self.pos -= 1;
                self.skip_block_if_any();
                continue;
            }
            out.push(l);
        }
    }

    /// Handles a keyword no handler of `block` took: not-implemented, LVS, or unknown.
    fn other_keyword(&mut self, block: Block, line: &Line) {
        let kw = line.words.first().map(|w| w.text.as_str()).unwrap_or("");
        match keywords::status(block, kw) {
            // Known to keepalived: `keyword_status` has said what vrrpd does with it.
            Some(_) => self.skip_block_if_any(),
            None => {
                let hint = self
                    .suggestions
                    .entry((block, kw.to_string()))
                    .or_insert_with(|| {
                        suggest::closest(kw, keywords::table(block).iter().map(|(k, _)| *k))
                    })
                    .map(|k| format!(" - did you mean `{k}`?"))
                    .unwrap_or_default();
                let block_note = if self.peek_is_open() {
                    " (its whole block is skipped)"
                } else {
                    ""
                };
                self.report(
                    line,
                    0,
                    Severity::Warning,
                    ExitClass::ConfigError,
                    format!("unknown keyword '{kw}'{hint}{block_note}"),
                );
                self.skip_block_if_any();
            }
        }
    }

    // ---- top level ---------------------------------------------------------------------

    /// `net_namespace NAME`: the first one counts (keepalived ignores a later one at start,
    /// and `-t` does not count it).
    fn net_namespace(&mut self, l: &Line) {
        let Some(w) = self.soft_arg(l, 1, "net_namespace name missing - ignoring") else {
            return;
        };
        match &self.draft.config.net_namespace {
            None => self.draft.config.net_namespace = Some(w.text.clone()),
            Some(_) => {
                let msg = format!("Duplicate net_namespace definition {} - ignoring", w.text);
                self.report(l, 1, Severity::Warning, ExitClass::None, msg);
            }
        }
    }

    pub(crate) fn parse(&mut self) -> PResult<()> {
        while let Some(l) = self.next_line() {
            if l.is_close() {
                self.error(l, 0, "extra '}' found".into());
                continue;
            }
            if l.is_open() {
                self.stray_open(l);
                continue;
            }
            self.keyword_status(Block::Root, l);
            let kw = l.words[0].text.as_str();
            match kw {
                "global_defs" => {
                    if self.open_block(l) {
                        self.each_in_block(l, global::keyword)?;
                    }
                }
                "vrrp_script" => blocks::vrrp_script(self, l)?,
                "track_file" | "vrrp_track_file" => blocks::track_file(self, l)?,
                "vrrp_track_process" => process::track_process(self, l)?,
                "vrrp_sync_group" => blocks::sync_group(self, l)?,
                "vrrp_instance" => instance::instance(self, l)?,
                "virtual_server" => lvs::virtual_server(self, l)?,
                "virtual_server_group" => lvs::virtual_server_group(self, l)?,
                "bfd_instance" => lvs::bfd_instance(self, l)?,
                "garp_group" => garp_group::garp_group(self, l)?,
                "track_group" => track_group::track_group(self, l)?,
                "interface_up_down_delays" => {
                    up_down_delays::interface_up_down_delays(self, l)?;
                }
                "static_ipaddress" => {
                    for e in self.value_block(l) {
                        if let Some(a) = addresses::vip(self, e, true)? {
                            if let Some(dev) = &a.dev {
                                self.draft
                                    .origins
                                    .interfaces
                                    .push(crate::origin::InterfaceUse {
                                        ifname: dev.clone(),
                                        instance: String::new(),
                                        subject: format!("ip address {}", e.words[0].text),
                                        at: crate::origin::At::of(e),
                                        kind: crate::origin::InterfaceKind::Item,
                                    });
                            }
                            self.draft.config.static_addresses.push(a);
                        }
                    }
                }
                "static_routes" => {
                    for e in self.value_block(l) {
                        if let Some(r) = addresses::route(self, e, false)? {
                            self.draft.config.static_routes.push(r);
                        }
                    }
                }
                "static_rules" => {
                    for e in self.value_block(l) {
                        if let Some(r) = addresses::rule(self, e, true)? {
                            self.draft.config.static_rules.push(r);
                        }
                    }
                }
                "instance" => {
                    if let Some(w) = self.soft_arg(l, 1, "instance: name missing") {
                        self.draft.config.instance = Some(w.text.clone());
                    }
                }
                "net_namespace" => self.net_namespace(l),
                _ => self.other_keyword(Block::Root, l),
            }
        }
        let refs = std::mem::take(&mut self.draft.lvs_refs);
        lvs::resolve_references(self, refs);
        Ok(())
    }
}

/// Whether the optional boolean after a flag keyword says on (bare flag = on).
pub(crate) fn flag(p: &mut Parser<'_>, l: &Line) -> bool {
    match l.words.get(1) {
        None => true,
        Some(w) => match values::parse_bool(&w.text) {
            Some(b) => b,
            None => {
                p.error(l, 1, format!("invalid boolean '{}' - taken as on", w.text));
                true
            }
        },
    }
}

/// The text of a logical line after its first word (what script keywords re-split).
pub(crate) fn rest_after_keyword(l: &Line) -> &str {
    match l.words.get(1) {
        Some(w) => {
            let off = (w.col - l.col) as usize;
            // A quoted word's column points at its quote, which the script splitter needs.
            l.text.get(off..).unwrap_or("")
        }
        None => "",
    }
}
