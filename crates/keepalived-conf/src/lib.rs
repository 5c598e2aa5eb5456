//! keepalived.conf, read exactly as keepalived 2.2.7 reads it, into a typed model.
//!
//! Pure library: no network, and every file or host look-up goes through an
//! [`IncludeResolver`] ([`FsResolver`] for the real system, [`MemResolver`] in memory).
//!
//! # API used by the daemon
//!
//! ```no_run
//! use keepalived_conf::{load_file, LoadOptions};
//! let opts = LoadOptions { config_id: Some("nodeA".into()), ..LoadOptions::default() };
//! let loaded = load_file(std::path::Path::new("/etc/keepalived/keepalived.conf"), &opts);
//! for d in &loaded.diagnostics {
//!     eprintln!("{d}"); // file:line:col: severity: message
//! }
//! let code = loaded.exit_class(); // what `keepalived -t` would exit with
//! if let Some(config) = &loaded.config {
//!     println!("{} instances", config.instances.len());
//! }
//! # let _ = code;
//! ```
//!
//! - [`load_file`] reads from the file system; [`load_with`] takes any resolver.
//! - [`Loaded::config`] is `None` only when loading stopped (a missing keyword argument, the
//!   main file unreadable); otherwise it is the model with keepalived's defaults applied.
//! - [`Loaded::exit_class`] is keepalived's `-t` exit status: 0 clean, 2 missing parameter,
//!   4 cannot run, 5 errors but runnable, 6 scripts as root without `enable_script_security`.
//!
//! - Besides reading files and expanding include globs, [`IncludeResolver`] answers the few
//!   host questions keepalived's `-t` asks (does a script file exist and is it safe, does a user
//!   or group exist, environment variables for `${_ENV}` and `PATH`); its default methods say
//!   "unknown", which turns those checks off. [`LoadOptions::skip_script_checks`] turns them
//!   off explicitly (for dumping a configuration written for another host).
//! - Pipeline: `reader` (lines, comments, includes, `@id`, `$NAME`, `~SEQ`, braces, words)
//!   -> `parser` (keyword tables per block, handlers) -> `validate` (keepalived's final
//!   instance and sync-group checks, global defaults applied) -> `security` (script checks).
//!
//! Where vrrpd deliberately differs from keepalived, see `docs/keepalived-compat.md`.

#![warn(missing_docs, unreachable_pub)]

mod address_tracking;
mod defs;
mod diag;
#[doc(hidden)]
pub mod fuzz_support;
mod interfaces;
mod keyword_doc;
mod keywords;
mod lexer;
pub mod model;
mod origin;
mod parser;
mod reader;
mod resolver;
pub mod script;
mod security;
mod seq;
mod suggest;
mod validate;

pub use diag::{Diagnostic, ExitClass, Severity};
pub use interfaces::MissingInterface;
pub use keywords::{BLOCKS, Block, KEEP_CHECKERS, NEWER_THAN_2_2_7, Status};
pub use model::*;
pub use reader::MAX_LINES;
pub use resolver::{
    FsResolver, IncludeResolver, InsecureScript, MemResolver, ResolveError, ScriptFile,
    check_script_file_secure,
};
pub use script::{ScriptCommand, split_argv};

/// The keyword table of `block`: every keyword keepalived knows there, with its [`Status`].
pub fn keyword_table(block: Block) -> &'static [(&'static str, Status)] {
    keywords::table(block)
}

/// The keyword table as the markdown table of docs/keepalived-compat.md.
pub fn keyword_table_markdown() -> String {
    keyword_doc::markdown()
}

use std::path::Path;

/// How to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// keepalived's `-i/--config-id`, matched by `@ID` lines and given by `${_INSTANCE}`.
    /// `None` means the short host name, which the caller reads and passes here (the library
    /// does not look at the host); if it does not, `@ID` lines only match with `@^ID`.
    pub config_id: Option<String>,
    /// Seed of `${_RANDOM}` (the daemon passes something changing; tests a fixed value).
    pub random_seed: u64,
    /// Skip the script existence / user / security checks (for dumping a config written for
    /// another host). They are on by default, as in keepalived's `-t`.
    pub skip_script_checks: bool,
    /// Bound on logical lines after `~SEQ`/`~LST`/`$` expansion; `None` = [`MAX_LINES`].
    pub max_lines: Option<usize>,
    /// The caller runs in the config's `net_namespace` (the daemon, after entering it). When
    /// the config names one and this is false, interfaces are not checked, as keepalived's
    /// `-t` does not check them then.
    pub in_net_namespace: bool,
}

/// The outcome of a load.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The model; `None` when loading stopped (see [`Severity::Fatal`] diagnostics).
    pub config: Option<Config>,
    /// Everything worth saying, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// Interfaces instances name that the host does not have (only when the resolver can
    /// tell, see [`IncludeResolver::interface_exists`]): those instances cannot run as written.
    pub missing_interfaces: Vec<MissingInterface>,
}

impl Loaded {
    /// keepalived's `-t` exit status for this configuration: 2 if a keyword lacked its
    /// argument (keepalived stops there), else the numerically largest class recorded
    /// (keepalived keeps the largest, so 5 hides an earlier 4), 0 if none.
    pub fn exit_class(&self) -> u8 {
        if self
            .diagnostics
            .iter()
            .any(|d| d.class == ExitClass::MissingParameter)
        {
            return 2;
        }
        self.diagnostics
            .iter()
            .map(|d| d.class.code())
            .max()
            .unwrap_or(0)
    }

    /// Whether any diagnostic is an error or fatal (warnings do not count).
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| matches!(d.severity, Severity::Fatal | Severity::Error))
    }
}

/// Loads `path` from the file system.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    load_with(&FsResolver, path, opts)
}

/// Loads `path` through `resolver`.
pub fn load_with(resolver: &dyn IncludeResolver, path: &Path, opts: &LoadOptions) -> Loaded {
    load_once(resolver, path, opts, true)
}

/// One read of the file; `may_reseed`: read it once more with its own `random_seed`.
fn load_once(
    resolver: &dyn IncludeResolver,
    path: &Path,
    opts: &LoadOptions,
    may_reseed: bool,
) -> Loaded {
    let id = opts.config_id.as_deref().unwrap_or("");
    let read = reader::read_config(
        resolver,
        path,
        id,
        opts.random_seed,
        opts.max_lines.unwrap_or(MAX_LINES),
    );
    let mut diagnostics = read.diags;
    if read.main_unreadable || diagnostics.iter().any(|d| d.severity == Severity::Fatal) {
        return Loaded {
            config: None,
            diagnostics,
            missing_interfaces: Vec::new(),
        };
    }
    let mut p = parser::Parser::new(&read.lines);
    let outcome = p.parse();
    diagnostics.append(&mut p.diags);
    if outcome.is_err() {
        return Loaded {
            config: None,
            diagnostics,
            missing_interfaces: Vec::new(),
        };
    }
    let draft = p.draft;
    // keepalived applies `random_seed` when its VRRP process reads the file again; here the
    // file is read again with that seed, so every `${_RANDOM}` takes the seeded value.
    // Only once: a seed that is itself `${_RANDOM}` must not chase its own tail.
    if let Some(seed) = draft.config.global_defs.random_seed.filter(|_| may_reseed) {
        if u64::from(seed) != opts.random_seed {
            let seeded = LoadOptions {
                random_seed: seed.into(),
                ..opts.clone()
            };
            return load_once(resolver, path, &seeded, false);
        }
    }
    let missing_interfaces = if draft.config.net_namespace.is_none() || opts.in_net_namespace {
        interfaces::check(resolver, &draft.origins, &mut diagnostics)
    } else {
        Vec::new()
    };
    let vrrp_configured = !draft.instance_names.is_empty();
    let mut config = draft.config;
    parser::check_cpus(
        resolver,
        draft.origins.cpu_affinity.as_ref(),
        &mut config.global_defs.process,
        &mut diagnostics,
    );
    validate::complete(
        &mut config,
        draft.instances,
        &draft.origins,
        &mut diagnostics,
    );
    if !opts.skip_script_checks {
        security::check_scripts(
            &mut config,
            resolver,
            &draft.origins,
            &draft.check_scripts,
            vrrp_configured,
            &mut diagnostics,
        );
    }
    // Whole-configuration checks are not tied to one file: name the main one.
    let main: std::sync::Arc<str> = std::sync::Arc::from(path.to_string_lossy().as_ref());
    for d in &mut diagnostics {
        if d.file.is_empty() {
            d.file = main.clone();
        }
    }
    Loaded {
        config: Some(config),
        diagnostics,
        missing_interfaces,
    }
}
