//! `vrrp_process_name` / `process_names`: the name `ps`, `pidof` and `pgrep` see, so the
//! monitoring written for keepalived's VRRP child finds vrrpd under the same name.

use keepalived_conf as kc;

/// The longest name the kernel keeps (`TASK_COMM_LEN` less its NUL).
const COMM_LEN: usize = 15;

/// The name the configuration asks for, cut as the kernel cuts it; `None`: keep vrrpd's own.
pub(super) fn wanted(g: &kc::GlobalDefs) -> Option<String> {
    let name = match (&g.vrrp_process_name, g.process_names) {
        (Some(n), _) => n.as_str(),
        (None, true) => "keepalived_vrrp",
        (None, false) => return None,
    };
    let mut end = name.len().min(COMM_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Some(name[..end].to_string())
}

/// Renames the process (its main thread, whichever thread calls this) when asked to.
pub(super) fn apply(g: &kc::GlobalDefs) {
    let Some(name) = wanted(g) else {
        return;
    };
    // /proc/self/comm is the thread-group leader's name, which is what ps and pidof read.
    match std::fs::write("/proc/self/comm", &name) {
        Ok(()) => tracing::info!(name, "process renamed (vrrp_process_name / process_names)"),
        Err(e) => tracing::warn!(name, error = %e, "cannot rename the process"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vrrp_name_wins_and_is_cut_to_the_kernel_length() {
        let mut g = kc::GlobalDefs::default();
        assert_eq!(wanted(&g), None);
        g.process_names = true;
        assert_eq!(wanted(&g).as_deref(), Some("keepalived_vrrp"));
        g.vrrp_process_name = Some("my_vrrp_proc_long_name".into());
        assert_eq!(wanted(&g).as_deref(), Some("my_vrrp_proc_lo"));
        g.vrrp_process_name = Some("ééééééééé".into());
        assert_eq!(wanted(&g).as_deref(), Some("ééééééé"));
    }
}
