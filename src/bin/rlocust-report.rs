//! `rlocust-report compare BASELINE CURRENT`: two stored results compared without re-running them (see
//! `rlocust::app::report_cli`). A separate program, so `rlocust`'s own command line stays Locust's.
fn main() {
    std::process::exit(rlocust::doors::main_report(
        std::env::args().skip(1).collect(),
    ));
}
