fn main() {
    eprintln!("vrrpd: not yet functional");
    std::process::exit(1);
}
