//! The standalone `rlocust` binary: everything lives in the library behind `doors::main`.
fn main() {
    let code = rlocust::doors::main(std::env::args().skip(1).collect());
    std::process::exit(code);
}
