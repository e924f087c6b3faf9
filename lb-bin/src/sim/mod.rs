//! `lb sim`: the scheduler simulator.

use std::io::Read;
use std::process::ExitCode;

pub mod rng;
pub mod script;
pub mod svg;
pub mod traffic;
pub mod workload;

/// Entry point of `lb sim ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--workload") {
        return match workload_main(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lb sim: {e}");
                ExitCode::from(2)
            }
        };
    }
    let (name, text) = match args {
        [] => ("<stdin>".to_string(), read_stdin()),
        [p] if p == "-" => ("<stdin>".to_string(), read_stdin()),
        [p] => (
            p.clone(),
            std::fs::read_to_string(p).map_err(|e| e.to_string()),
        ),
        _ => {
            eprintln!("lb sim: expected one script file (or none for standard input)");
            return ExitCode::from(2);
        }
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lb sim: cannot read {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut sim = script::Sim::new();
    let mut out = std::io::stdout().lock();
    match sim.run(&text, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write;
            let _ = out.flush();
            eprintln!("lb sim: {name}: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_stdin() -> Result<String, String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| e.to_string())?;
    Ok(s)
}

fn parse_list<T: std::str::FromStr>(opt: &str, v: &str) -> Result<Vec<T>, String> {
    v.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .map_err(|_| format!("{opt}: bad value `{x}'"))
        })
        .collect()
}

fn parse_one<T: std::str::FromStr>(opt: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{opt}: bad value `{v}'"))
}

fn workload_main(args: &[String]) -> Result<(), String> {
    let mut spec = workload::WorkloadSpec::default();
    let mut svg_path: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--workload" {
            continue;
        }
        let v = it
            .next()
            .ok_or_else(|| format!("option {a} needs a value"))?;
        match a.as_str() {
            "--schedulers" => {
                spec.schedulers = v.split(',').map(|s| s.trim().to_string()).collect()
            }
            "--weights" => spec.weights = parse_list(a, v)?,
            "--clients" => spec.clients = parse_one(a, v)?,
            "--conns" => spec.conns = parse_one(a, v)?,
            "--rate" => spec.rate = parse_one(a, v)?,
            "--lifetime" => spec.mean_lifetime = parse_one(a, v)?,
            "--seed" => spec.seed = parse_one(a, v)?,
            "--samples" => spec.samples = parse_one(a, v)?,
            "--svg" => svg_path = Some(v.clone()),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    if spec.weights.is_empty() || spec.weights.iter().any(|&w| w > 65535) {
        return Err("--weights: one weight 0..65535 per server".into());
    }
    if !(spec.rate > 0.0 && spec.rate.is_finite()) {
        return Err("--rate must be a positive number".into());
    }
    if !(spec.mean_lifetime >= 0.0 && spec.mean_lifetime.is_finite()) {
        return Err("--lifetime must be a non-negative number".into());
    }
    if spec.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    for s in &spec.schedulers {
        if !lb_core::sched::exists(s) {
            return Err(format!(
                "unknown scheduler `{s}' (valid: {})",
                lb_core::sched::NAMES.join(" ")
            ));
        }
    }
    let runs = workload::run(&spec).map_err(|e| e.to_string())?;
    print!("{}", workload::summary_table(&spec, &runs));
    if let Some(p) = svg_path {
        let title = format!(
            "lb sim: {} connections, weights {:?}, seed {}",
            spec.conns, spec.weights, spec.seed
        );
        std::fs::write(&p, svg::render(&title, &runs))
            .map_err(|e| format!("cannot write {p}: {e}"))?;
        eprintln!("plot written to {p}");
    }
    Ok(())
}
