//! `make demo`: the seed's two-node failover scenario in an isolated lab (being assembled as the
//! three binaries land).

fn main() {
    eprintln!("demo: the scenario needs elb-proxy and vrrpd, which are not complete yet");
    std::process::exit(1);
}
