//! nsmap's entry point: parse, run, map the result to an exit code.

fn main() {
    std::process::exit(nsmap::cli::main());
}
