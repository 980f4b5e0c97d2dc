//! Protection from one client: a rate limit per client address (a token bucket: `rate` a
//! second on average, `burst` at once), answered `429` with `Retry-After` before the request
//! reaches a route. Pure but for the clock, which the caller gives.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most clients remembered; past it, those whose bucket is full again are forgotten.
const MAX_CLIENTS: usize = 10_000;

pub struct RateLimit {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    pub fn new(rate: u64, burst: u64) -> Self {
        RateLimit {
            rate: rate.max(1) as f64,
            burst: burst.max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of `client` at `now`: `Ok` when allowed, else how long until the
    /// next one is.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let Ok(mut buckets) = self.buckets.lock() else {
            // A panic elsewhere while holding the lock: serve rather than refuse everyone.
            return Ok(());
        };
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let b = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.rate))
        }
    }
}

/// Who a request comes from: the peer's address, except behind a proxy on the same machine
/// (a loopback peer), where it is the last address of `X-Forwarded-For` (the one the proxy
/// added; the ones before it are the client's word).
pub fn client(peer: SocketAddr, forwarded_for: Option<&str>) -> IpAddr {
    if peer.ip().is_loopback() {
        if let Some(ip) = forwarded_for
            .and_then(|v| v.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok())
        {
            return ip;
        }
    }
    peer.ip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_the_rate_and_others_are_not_affected() {
        let limit = RateLimit::new(10, 3);
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limit.take(a, t0), Ok(()));
        }
        let wait = limit.take(a, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        assert_eq!(limit.take(b, t0), Ok(()));
        assert_eq!(limit.take(a, t0 + Duration::from_millis(100)), Ok(()));
        assert!(limit.take(a, t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn forwarded_for_counts_only_from_a_loopback_proxy() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "198.51.100.7:5000".parse().unwrap();
        let xff = Some("10.0.0.1, 203.0.113.9");
        assert_eq!(client(local, xff), "203.0.113.9".parse::<IpAddr>().unwrap());
        assert_eq!(client(remote, xff), remote.ip());
        assert_eq!(client(local, Some("junk")), local.ip());
        assert_eq!(client(local, None), local.ip());
    }
}
