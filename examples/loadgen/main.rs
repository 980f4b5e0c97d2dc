//! A bounded load generator for `sloop serve` (README: sloop serve, Performance).
//!
//! ```text
//! cargo run --release --example loadgen -- hooks ADDR HOOK --secret-env VAR
//!     [--auth bearer|hmac[:HEADER]] [-n 10000] [-c 16] [--rate PER_SECOND] [--body JSON]
//!     [--repo DIR]
//! cargo run --release --example loadgen -- page ADDR PATH [-n 1000] [-c 8]
//! ```
//!
//! `hooks`: N deliveries over C keep-alive connections, each body unique (`{i}` in `--body`
//! is the request's number), signed or with the bearer token from the environment
//! variable, at most `--rate` a second; prints accepted/s, p50/p99 latency to the 202, and
//! with `--repo` the time from the last 202 until `git log` names every event and, for each
//! event, from its 202 to the first `git log` naming it (p50/p99/max). `page`: N GETs.
//! A std-only HTTP/1.1 client: nothing to install, and the test suite runs the same code.

#[path = "load.rs"]
mod load;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let mut opt = std::collections::HashMap::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') {
            let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
            opt.insert(a, v);
        } else {
            pos.push(a);
        }
    }
    let num = |k: &str, d: usize| -> Result<usize, String> {
        opt.get(k)
            .map(|v| v.parse().map_err(|_| format!("{k} {v}: not a number")))
            .unwrap_or(Ok(d))
    };
    match pos.first().map(String::as_str) {
        Some("hooks") if pos.len() == 3 => {
            let var = opt.get("--secret-env").ok_or("--secret-env VAR is required")?;
            let secret = std::env::var(var).map_err(|_| format!("{var} is not set"))?;
            let auth = match opt.get("--auth").map(String::as_str).unwrap_or("hmac") {
                "bearer" => load::Auth::Bearer,
                "hmac" => load::Auth::Hmac("X-Hub-Signature-256".into()),
                other => match other.strip_prefix("hmac:") {
                    Some(h) => load::Auth::Hmac(h.to_string()),
                    None => return Err(format!("--auth {other}: bearer or hmac[:HEADER]")),
                },
            };
            let cfg = load::Hooks {
                addr: pos[1].clone(),
                hook: pos[2].clone(),
                secret: secret.into_bytes(),
                auth,
                n: num("-n", 10_000)?,
                concurrency: num("-c", 16)?,
                body: opt.get("--body").cloned().unwrap_or_else(|| {
                    r#"{"email": "load-{i}@load.example", "name": "Load {i}", "company": "Load {i}"}"#.to_string()
                }),
                repo: opt.get("--repo").map(Into::into),
                rate: match opt.get("--rate") {
                    Some(v) => Some(
                        v.parse::<f64>()
                            .ok()
                            .filter(|r| *r > 0.0)
                            .ok_or_else(|| format!("--rate {v}: a number of deliveries a second"))?,
                    ),
                    None => None,
                },
            };
            let r = load::hooks(&cfg)?;
            println!("{}", r.render(&format!("POST /hooks/{}", cfg.hook)));
        }
        Some("page") if pos.len() == 3 => {
            let r = load::pages(&pos[1], &pos[2], num("-n", 1000)?, num("-c", 8)?, Vec::new())?;
            println!("{}", r.render(&format!("GET {}", pos[2])));
        }
        _ => return Err("usage: loadgen hooks ADDR HOOK --secret-env VAR [--auth bearer|hmac[:HEADER]] [-n N] [-c C] [--rate R] [--body JSON] [--repo DIR] | loadgen page ADDR PATH [-n N] [-c C]".into()),
    }
    Ok(())
}
