//! `rlocust-python`: runs a Python entry point as `python` would (`rlocust-python script.py`, `rlocust-python -m
//! pytest tests/`, `rlocust-python -c CODE`), with rlocust's `locust` package and engine (see
//! `rlocust::app::library`, entered through `rlocust::doors`). A separate program, so `rlocust`'s own command line stays Locust's.
fn main() {
    let code = rlocust::doors::main_python(std::env::args().skip(1).collect());
    std::process::exit(code);
}
