//! Tracking: `vrrp_script` runners, `track_file` watchers, script security and users, and
//! the pure priority arithmetic (effective priority, the weight check).
//!
//! Everything that runs a process lives in [`exec`]; [`notify`](crate::notify) reuses it.

pub mod conf;
// pre_exec (prctl PR_SET_PDEATHSIG) between fork and exec.
#[allow(unsafe_code)]
pub mod exec;
pub mod filter;
pub mod priority;
pub mod runner;
pub mod security;
pub mod track_file;

pub use exec::{ExecPlan, RunAs, RunOutcome};
pub use priority::{
    Effective, TrackedState, TrackerInput, TrackerWeight, WeightCheck, check_weights,
    effective_priority,
};
pub use runner::{ScriptSettings, ScriptTracker, TrackScriptSpec, TrackerError, TrackerUpdate};
pub use track_file::{FileTracker, TrackFileSpec};
