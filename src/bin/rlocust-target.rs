//! `rlocust-target`: the loopback demo/test server (127.0.0.1 only); `--help` says how to use it.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(rlocust::target::main(&args));
}
