//! The VRRP process's own settings in `global_defs` (scheduling, memory, CPUs, umask, socket
//! receive buffers) and the top-level `net_namespace`: keepalived 2.2.7's argument rules, its
//! words and its `-t` exit classes (checked against `keepalived -t`), and the model they fill.

use keepalived_conf::*;
use std::collections::BTreeSet;
use std::path::Path;

const MAIN: &str = "/etc/keepalived/keepalived.conf";
const INSTANCE: &str = "vrrp_instance I {\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress {\n 198.18.0.1\n }\n}\n";

/// `text` loaded on a host with two CPUs and an `eth0`.
fn load(text: &str, in_net_namespace: bool) -> Loaded {
    let mut r = MemResolver::new().with_file(MAIN, format!("{text}{INSTANCE}"));
    r.interfaces = Some(BTreeSet::from(["eth0".to_string()]));
    r.cpus = Some(2);
    let opts = LoadOptions {
        in_net_namespace,
        ..LoadOptions::default()
    };
    load_with(&r, Path::new(MAIN), &opts)
}

fn global(lines: &str) -> Loaded {
    load(&format!("global_defs {{\n{lines}}}\n"), false)
}

fn messages(l: &Loaded) -> String {
    l.diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn process_keywords_fill_the_model() {
    let l = global(
        " vrrp_priority -5\n vrrp_rt_priority 30\n vrrp_no_swap\n vrrp_cpu_affinity 1 0 1\n \
         vrrp_rlimit_rtime 200000\n umask IWGRP | IWOTH\n vrrp_netlink_cmd_rcv_bufs 300000\n \
         vrrp_netlink_monitor_rcv_bufs_force\n process_monitor_rcv_bufs 500000\n \
         process_monitor_rcv_bufs_force no\n",
    );
    assert_eq!(l.exit_class(), 0, "{}", messages(&l));
    let p = l.config.unwrap().global_defs.process;
    assert_eq!(p.nice, Some(-5));
    assert_eq!(p.rt_priority, Some(30));
    assert!(p.no_swap);
    assert_eq!(p.cpu_affinity, vec![0, 1]);
    assert_eq!(p.rlimit_rttime, Some(200_000));
    assert_eq!(p.umask, Some(0o22));
    assert_eq!(
        p.netlink_cmd,
        RcvBuf {
            bytes: 300_000,
            force: false
        }
    );
    assert_eq!(
        p.netlink_monitor,
        RcvBuf {
            bytes: 0,
            force: true
        }
    );
    assert_eq!(
        p.process_monitor,
        RcvBuf {
            bytes: 500_000,
            force: false
        }
    );
}

#[test]
fn bad_process_values_are_keepalived_errors_and_leave_the_defaults() {
    for (line, words) in [
        (
            "vrrp_priority 20",
            "Invalid vrrp process priority specified",
        ),
        ("vrrp_priority", "No vrrp process priority specified"),
        (
            "vrrp_rt_priority x",
            "vrrp process real-time priority 'x' invalid",
        ),
        (
            "vrrp_cpu_affinity 0-1",
            "Invalid cpu_id:0-1 specified for vrrp process",
        ),
        (
            "vrrp_cpu_affinity 0 5",
            "Invalid cpu_id:5 specified for vrrp process",
        ),
        ("vrrp_cpu_affinity", "No vrrp cpu_id set specified"),
        ("vrrp_rlimit_rttime 0", "Invalid vrrp real-time limit - 0"),
        ("umask 1777", "invalid umask value 1777"),
        ("umask IWGRP IWOTH", "Invalid umask syntax IWOTH"),
        (
            "vrrp_netlink_cmd_rcv_bufs x",
            "vrrp_netlink_cmd_rcv_bufs size (x) invalid",
        ),
        (
            "process_monitor_rcv_bufs",
            "process_monitor_rcv_bufs size missing",
        ),
        (
            "vrrp_netlink_cmd_rcv_bufs_force x",
            "Invalid value 'x' for global vrrp_netlink_cmd_rcv_bufs_force specified",
        ),
    ] {
        let l = global(&format!(" {line}\n"));
        assert_eq!(l.exit_class(), 5, "{line}: {}", messages(&l));
        assert!(messages(&l).contains(words), "{line}: {}", messages(&l));
        let p = l.config.unwrap().global_defs.process;
        assert_eq!(p, ProcessTuning::default(), "{line}");
    }
}

#[test]
fn realtime_priority_out_of_range_takes_the_bound_with_a_warning() {
    let l = global(" vrrp_rt_priority 100\n");
    assert_eq!(l.exit_class(), 5);
    assert!(messages(&l).contains("greater than maximum 99 - setting to maximum"));
    assert_eq!(l.config.unwrap().global_defs.process.rt_priority, Some(99));
    let l = global(" vrrp_rt_priority 0\n");
    assert_eq!(l.config.unwrap().global_defs.process.rt_priority, Some(1));
}

#[test]
fn a_missing_umask_or_rttime_argument_is_a_missing_parameter() {
    assert_eq!(global(" umask\n").exit_class(), 2);
    assert_eq!(global(" vrrp_rlimit_rttime\n").exit_class(), 2);
}

#[test]
fn net_namespace_is_kept_and_interfaces_are_checked_only_inside_it() {
    let text = "net_namespace blue\nnet_namespace red\n";
    let outside = load(text, false);
    assert_eq!(outside.exit_class(), 0, "{}", messages(&outside));
    assert!(messages(&outside).contains("Duplicate net_namespace definition red - ignoring"));
    let c = outside.config.unwrap();
    assert_eq!(c.net_namespace.as_deref(), Some("blue"));
    // An interface this host lacks: not looked at from outside the namespace, as keepalived -t.
    let missing = format!("net_namespace blue\n{}", INSTANCE.replace("eth0", "eth9"));
    let mut r = MemResolver::new().with_file(MAIN, missing.clone());
    r.interfaces = Some(BTreeSet::from(["eth0".to_string()]));
    let opts = |inside| LoadOptions {
        in_net_namespace: inside,
        ..LoadOptions::default()
    };
    assert_eq!(load_with(&r, Path::new(MAIN), &opts(false)).exit_class(), 0);
    assert_eq!(load_with(&r, Path::new(MAIN), &opts(true)).exit_class(), 5);
    assert_eq!(load("net_namespace\n", false).exit_class(), 5);
}

#[test]
fn advert_buffer_keywords_fill_the_model_with_keepalived_rules() {
    let l = global(" vrrp_rx_bufs_policy advert\n vrrp_rx_bufs_multiplier 7\n");
    assert_eq!(l.exit_class(), 0, "{}", messages(&l));
    let p = l.config.unwrap().global_defs.process;
    assert_eq!(p.rx_bufs_policy, Some(RxBufsPolicy::Advert));
    assert_eq!(p.rx_bufs_multiplier, Some(7));
    let p = global(" vrrp_rx_bufs_policy 70000\n").config.unwrap();
    assert_eq!(
        p.global_defs.process.rx_bufs_policy,
        Some(RxBufsPolicy::Bytes(70_000))
    );
    let l = global(" vrrp_rx_bufs_policy MTU ADVERT\n");
    assert_eq!(l.exit_class(), 5);
    assert_eq!(
        l.config.unwrap().global_defs.process.rx_bufs_policy,
        Some(RxBufsPolicy::Mtu),
        "MTU wins"
    );
    for bad in [
        "vrrp_rx_bufs_policy x",
        "vrrp_rx_bufs_policy",
        "vrrp_rx_bufs_multiplier 0",
    ] {
        let l = global(&format!(" {bad}\n"));
        assert_eq!(l.exit_class(), 5, "{bad}");
        assert_eq!(
            l.config.unwrap().global_defs.process,
            ProcessTuning::default()
        );
    }
    let with = |line: &str| {
        let mut r = MemResolver::new().with_file(
            MAIN,
            INSTANCE.replace(" priority 100\n", &format!(" priority 100\n {line}\n")),
        );
        r.interfaces = Some(BTreeSet::from(["eth0".to_string()]));
        load_with(&r, Path::new(MAIN), &LoadOptions::default())
    };
    let l = with("kernel_rx_buf_size 123456");
    assert_eq!(l.exit_class(), 0, "{}", messages(&l));
    assert_eq!(l.config.unwrap().instances[0].kernel_rx_buf_size, 123_456);
    let l = with("kernel_rx_buf_size x");
    assert_eq!(l.exit_class(), 5);
    assert!(messages(&l).contains("(I) invalid kernel_rx_buf_size specified"));
}
