//! `rlocust-target [--port N] [--max-seconds N]`: the loopback demo/test server (127.0.0.1 only; port 0 = random).
fn main() {
    let mut port: u16 = 0;
    let mut max_seconds: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next();
        match (a.as_str(), value.as_deref().map(str::parse::<f64>)) {
            ("--port", Some(Ok(p))) if (0.0..65536.0).contains(&p) && p.fract() == 0.0 => {
                port = p as u16
            }
            ("--max-seconds", Some(Ok(s))) if s >= 0.0 => max_seconds = Some(s),
            _ => {
                eprintln!(
                    "usage: rlocust-target [--port N] [--max-seconds N]   (bad argument: {a})"
                );
                std::process::exit(2);
            }
        }
    }
    std::process::exit(rlocust::target::run_blocking_for(
        &format!("127.0.0.1:{port}"),
        max_seconds,
    ));
}
