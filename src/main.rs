fn main() -> std::process::ExitCode {
    jetsync::cli::main()
}
