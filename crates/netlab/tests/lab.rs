//! Tests of the lab itself: real namespaces, a real bridge, real traffic.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use netlab::{Lab, lab_namespaces, require_root_or_skip};

const T: Duration = Duration::from_secs(10);

/// Host `server` listens on its address, host `client` connects and gets its bytes echoed.
fn exchange(
    lab: &Lab,
    client: usize,
    server: usize,
    connect_timeout: Duration,
) -> anyhow::Result<()> {
    let addr = SocketAddr::new(IpAddr::V4(lab.host(server).ipv4()), 7000);
    let listener = lab.host(server).in_netns(|| TcpListener::bind(addr))??;
    std::thread::scope(|s| {
        let echo = s.spawn(|| -> std::io::Result<()> {
            let (mut conn, _) = listener.accept()?;
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf)?;
            conn.write_all(&buf)
        });
        let result = lab.host(client).in_netns(|| -> anyhow::Result<()> {
            let mut conn = TcpStream::connect_timeout(&addr, connect_timeout)?;
            conn.set_read_timeout(Some(T))?;
            conn.write_all(b"hello")?;
            let mut buf = [0u8; 5];
            conn.read_exact(&mut buf)?;
            anyhow::ensure!(&buf == b"hello", "echo mismatch");
            Ok(())
        })?;
        if result.is_err() {
            // Unblock the accept so the scope can end.
            let _ = lab
                .host(server)
                .in_netns(|| TcpStream::connect_timeout(&addr, Duration::from_secs(1)));
        }
        let _ = echo.join();
        result
    })
}

#[test]
fn two_hosts_exchange_traffic_across_the_bridge() {
    if !require_root_or_skip("two_hosts_exchange_traffic_across_the_bridge") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    let capture = lab.host(1).capture("arp").unwrap();
    exchange(&lab, 0, 1, T).unwrap();
    // The first packet from host 0 needed host 1's MAC: the ARP request crossed the bridge.
    capture
        .wait_for(&format!("Request who-has {}", lab.host(1).ipv4()), T)
        .unwrap();
}

#[test]
fn a_partition_stops_traffic_and_a_heal_restores_it() {
    if !require_root_or_skip("a_partition_stops_traffic_and_a_heal_restores_it") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    exchange(&lab, 0, 1, T).unwrap();
    lab.host(0).partition().unwrap();
    assert!(
        exchange(&lab, 0, 1, Duration::from_millis(300)).is_err(),
        "traffic crossed a partition"
    );
    lab.host(0).heal().unwrap();
    exchange(&lab, 0, 1, T).unwrap();
}

#[test]
fn a_panicking_test_leaves_nothing_behind() {
    if !require_root_or_skip("a_panicking_test_leaves_nothing_behind") {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::panic::catch_unwind(move || {
        let lab = Lab::new(2).unwrap();
        let mut cmd = lab.host(0).command("sleep");
        cmd.arg("600");
        let sleeper = lab.host(0).spawn("sleeper", cmd).unwrap();
        tx.send((lab.namespaces().to_vec(), sleeper.pid())).unwrap();
        panic!("deliberate panic inside a lab");
    });
    assert!(outcome.is_err());
    let (namespaces, pid) = rx.recv().unwrap();
    let present = lab_namespaces();
    for ns in &namespaces {
        assert!(!present.contains(ns), "{ns} survived the panic");
    }
    let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok();
    assert!(!alive, "process {pid} survived the panic");
}

#[test]
fn parallel_labs_do_not_collide() {
    if !require_root_or_skip("parallel_labs_do_not_collide") {
        return;
    }
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    // Every lab uses the same addresses; isolation is what makes that work.
                    let lab = Lab::new(2).unwrap();
                    exchange(&lab, 0, 1, T).unwrap();
                    exchange(&lab, 1, 0, T).unwrap();
                    lab.namespaces().to_vec()
                })
            })
            .collect();
        let mut all: Vec<String> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "two labs shared a namespace name");
    });
}

#[test]
fn waits_for_an_address_to_appear_and_disappear() {
    if !require_root_or_skip("waits_for_an_address_to_appear_and_disappear") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let host = lab.host(0);
    let vip: IpAddr = "198.18.0.100".parse().unwrap();
    assert!(!host.has_address(vip).unwrap());
    std::thread::scope(|s| {
        let waiter = s.spawn(|| host.wait_for_address(vip, true, T));
        host.run(&["ip", "addr", "add", "198.18.0.100/32", "dev", "eth0"])
            .unwrap();
        waiter.join().unwrap().unwrap();
    });
    assert!(
        host.wait_for_address(vip, false, Duration::from_millis(200))
            .is_err(),
        "reported the address gone while it is present"
    );
    std::thread::scope(|s| {
        let waiter = s.spawn(|| host.wait_for_address(vip, false, T));
        host.run(&["ip", "addr", "del", "198.18.0.100/32", "dev", "eth0"])
            .unwrap();
        waiter.join().unwrap().unwrap();
    });
}

#[test]
fn process_output_is_captured_and_waited_on() {
    if !require_root_or_skip("process_output_is_captured_and_waited_on") {
        return;
    }
    let lab = Lab::new(1).unwrap();
    let mut cmd = lab.host(0).command("sh");
    cmd.args([
        "-c",
        "echo first; ip -o link show dev eth0; echo done >&2; exec sleep 600",
    ]);
    let mut proc = lab.host(0).spawn("talker", cmd).unwrap();
    proc.wait_for_line("^first$", T).unwrap();
    // The process really runs inside the host: it sees the host's eth0.
    proc.wait_for_line("eth0", T).unwrap();
    // stderr is a separate pipe: its line may arrive before stdout's, so look at all output.
    proc.wait_for_nth_line("^done$", 1, T).unwrap();
    assert!(
        proc.wait_for_line("never printed", Duration::from_millis(100))
            .is_err()
    );
    proc.signal(nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = proc.wait_exit(T).unwrap();
    assert!(!status.success());
}

#[test]
fn a_downed_link_is_seen_by_the_kernel() {
    if !require_root_or_skip("a_downed_link_is_seen_by_the_kernel") {
        return;
    }
    let lab = Lab::new(2).unwrap();
    lab.host(0).link_down().unwrap();
    assert!(exchange(&lab, 0, 1, Duration::from_millis(300)).is_err());
    let out = lab
        .host(0)
        .run(&["ip", "-o", "link", "show", "dev", "eth0"])
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("state DOWN"));
    lab.host(0).link_up().unwrap();
    exchange(&lab, 0, 1, T).unwrap();
}
