use std::process::ExitCode;

fn main() -> ExitCode {
    keyuan::cli::main()
}
