//! The standalone `rlocust` binary: everything lives in the library behind `doors::main`.
fn main() {
    let code = rlocust::doors::main(std::env::args().skip(1).collect());
    std::process::exit(code);
}

/// Before `main`, before anything is allocated: mimalloc asks for transparent huge pages on its arena when it
/// reserves it at the first allocation, and the pages touched until `app::run` says no stay huge (4 MB of them).
/// A function in `.init_array` is called by the loader, as C constructors are.
#[used]
#[unsafe(link_section = ".init_array")]
static NO_HUGE_PAGES: extern "C" fn() = no_huge_pages;

extern "C" fn no_huge_pages() {
    rlocust::app::no_huge_pages();
}
