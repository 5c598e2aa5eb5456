//! Which processes a `vrrp_track_process` counts: keepalived's exact match (not pgrep's
//! regular expression) of the process name, or with `full_command` of `argv[0]`, plus the
//! parameters when the block gives any (or writes `param_match`).

use keepalived_conf::ParamMatch;

/// The longest process name the kernel keeps (`TASK_COMM_LEN` - 1).
pub const COMM_LEN: usize = 15;

/// What the matcher reads of one process: /proc/PID/comm and /proc/PID/cmdline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcInfo {
    /// /proc/PID/comm: the kernel's name for the process.
    pub comm: String,
    /// /proc/PID/cmdline split at NULs.
    pub argv: Vec<String>,
}

/// The matching rule of one tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// `process`: the name (or path, with `full_command`) to match.
    pub process: String,
    /// The parameters written after the name.
    pub params: Vec<String>,
    /// `None`: parameters are not looked at (no parameters and no `param_match` written).
    pub param_match: Option<ParamMatch>,
    /// `full_command`: match the command line's first word, not comm.
    pub full_command: bool,
}

impl Matcher {
    /// Whether `p` is one of the processes this tracker counts.
    pub fn matches(&self, p: &ProcInfo) -> bool {
        let name_ok = if self.full_command {
            p.argv.first().is_some_and(|a| *a == self.process)
        } else {
            // The kernel truncates the name; so is the configured one before comparing.
            let want = truncate(&self.process, COMM_LEN);
            !p.comm.is_empty() && p.comm == want
        };
        if !name_ok {
            return false;
        }
        let Some(mode) = self.effective_param_match() else {
            return true;
        };
        let args = p.argv.get(1..).unwrap_or(&[]);
        let want = &self.params;
        match mode {
            ParamMatch::Exact => args == want.as_slice(),
            ParamMatch::Partial => args.len() >= want.len() && args[..want.len()] == want[..],
            ParamMatch::Initial => match want.split_last() {
                None => true,
                Some((last, head)) => {
                    args.len() >= want.len()
                        && args[..head.len()] == *head
                        && args[head.len()].starts_with(last.as_str())
                }
            },
        }
    }

    fn effective_param_match(&self) -> Option<ParamMatch> {
        match self.param_match {
            Some(m) => Some(m),
            None if !self.params.is_empty() => Some(ParamMatch::Exact),
            None => None,
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// /proc/PID/cmdline: NUL-separated arguments, the last one NUL-terminated.
pub fn split_cmdline(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(comm: &str, argv: &[&str]) -> ProcInfo {
        ProcInfo {
            comm: comm.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn m(process: &str, params: &[&str], pm: Option<ParamMatch>, full: bool) -> Matcher {
        Matcher {
            process: process.into(),
            params: params.iter().map(|s| s.to_string()).collect(),
            param_match: pm,
            full_command: full,
        }
    }

    #[test]
    fn name_is_an_exact_match_not_a_pattern() {
        let sshd = proc("sshd", &["/usr/sbin/sshd", "-D"]);
        assert!(m("sshd", &[], None, false).matches(&sshd));
        assert!(!m("ssh", &[], None, false).matches(&sshd));
        // Without parameters written, any arguments match.
        assert!(m("sshd", &[], None, false).matches(&proc("sshd", &["sshd", "-x", "-y"])));
        // A long configured name is compared as the kernel keeps it (15 bytes).
        let long = proc("elb-proxy-sidec", &["/bin/elb-proxy-sidecar"]);
        assert!(m("elb-proxy-sidecar", &[], None, false).matches(&long));
        // Kernel threads have an empty command line but a name.
        assert!(m("kthreadd", &[], None, false).matches(&proc("kthreadd", &[])));
    }

    #[test]
    fn full_command_matches_argv0_not_the_name() {
        let p = proc("elb-proxy", &["/usr/bin/elb-proxy", "-c", "x.yaml"]);
        assert!(m("/usr/bin/elb-proxy", &[], None, true).matches(&p));
        assert!(!m("elb-proxy", &[], None, true).matches(&p));
        assert!(!m("/usr/bin/elb-proxy", &[], None, false).matches(&p));
    }

    #[test]
    fn parameters_match_exactly_partially_or_initially() {
        let p = proc("elb-proxy", &["elb-proxy", "-c", "/etc/elb/a.yaml", "-v"]);
        let exact = m("elb-proxy", &["-c", "/etc/elb/a.yaml"], None, false);
        assert!(!exact.matches(&p), "exact: -v is one argument too many");
        assert!(exact.matches(&proc("elb-proxy", &["elb-proxy", "-c", "/etc/elb/a.yaml"])));
        let partial = Matcher {
            param_match: Some(ParamMatch::Partial),
            ..exact.clone()
        };
        assert!(partial.matches(&p));
        let initial = m(
            "elb-proxy",
            &["-c", "/etc/elb/"],
            Some(ParamMatch::Initial),
            false,
        );
        assert!(initial.matches(&p));
        assert!(!partial.matches(&proc("elb-proxy", &["elb-proxy", "-c"])));
        // A bare param_match: the process must have no parameters at all.
        let none = m("elb-proxy", &[], Some(ParamMatch::Exact), false);
        assert!(!none.matches(&p));
        assert!(none.matches(&proc("elb-proxy", &["elb-proxy"])));
    }

    #[test]
    fn cmdline_splits_on_nul() {
        assert_eq!(split_cmdline(b"a\0b c\0\0d\0"), ["a", "b c", "", "d"]);
        assert!(split_cmdline(b"").is_empty());
    }
}
