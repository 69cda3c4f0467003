//! The standalone `rlocust` binary: everything lives in the library behind `app::run`.
fn main() {
    let code = rlocust::app::run(std::env::args().skip(1).collect());
    std::process::exit(code);
}
