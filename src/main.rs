// Temporary stand-in from the `bar` branch so the bar can be run and
// benchmarked before the lead's cli lands; the lead's main.rs replaces it.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--bench-render") {
        let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
        print!("{}", rstat::bar::bench_render(n));
        return ExitCode::SUCCESS;
    }
    let roots = rstat::collect::Roots::default();
    let sampler = match rstat::collect::open_source(rstat::collect::Choice::Procfs, &roots)
        .and_then(|(src, _)| rstat::collect::Sampler::new(&roots, src))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rstat: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rstat::bar::run(sampler, &rstat::bar::Options::default()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rstat: {e}");
            ExitCode::FAILURE
        }
    }
}
