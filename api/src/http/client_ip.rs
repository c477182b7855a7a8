//! The caller's address (SPEC §10): the peer, or — when the peer is a trusted proxy
//! (`MEMBERCARD_TRUSTED_PROXIES`) — the nearest untrusted address the proxies forwarded, read
//! from `Forwarded` when present, else from `X-Forwarded-For`. A header from an untrusted peer
//! changes nothing, so a client cannot pick its own address.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use poem::Request;
use poem::http::HeaderMap;

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address of `req` ("unknown" when the transport has no IP peer).
    pub fn client_ip(&self, req: &Request) -> String {
        let peer = req.remote_addr().as_socket_addr().map(|addr| addr.ip());
        peer.map_or_else(
            || "unknown".to_owned(),
            |peer| self.resolve(peer, req.headers()).to_string(),
        )
    }

    /// Walks the forwarded chain from the nearest hop outwards while each hop is trusted; the
    /// first untrusted address is the client. A hop that cannot be read (`unknown`, an
    /// obfuscated name, garbage) ends the walk at the last address that could.
    fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded_chain(headers).into_iter().rev() {
            match hop {
                Some(ip) => client = canonical(ip),
                None => break,
            }
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The forwarded addresses, client first: every `for=` of the `Forwarded` headers (RFC 7239)
/// when there is one, else every `X-Forwarded-For` entry. `None` stands for a hop that is not
/// an IP address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .into_iter()
            .flat_map(rfc7239::parse)
            .map(|element| {
                element
                    .ok()?
                    .forwarded_for
                    .and_then(|node| node.ip().copied())
            })
            .collect();
    }
    values("x-forwarded-for")
        .into_iter()
        .flat_map(|value| value.split(','))
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpAddr>()
                .ok()
                .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;

    use super::*;

    fn proxies(cidrs: &[&str]) -> TrustedProxies {
        TrustedProxies::new(cidrs.iter().map(|c| c.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            trusted.resolve(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().resolve(ip("10.0.0.1"), &spoofed),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_proxy_forwards_the_nearest_untrusted_address() {
        let trusted = proxies(&["10.0.0.0/8"]);
        // The client prepended a lie; the proxies appended what they saw.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2")]);
        assert_eq!(trusted.resolve(ip("10.0.0.1"), &chain), ip("198.51.100.7"));
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7"),
        ]);
        assert_eq!(trusted.resolve(ip("10.0.0.1"), &split), ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let trusted = proxies(&["10.0.0.0/8", "::1/128"]);
        let both = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            (
                "forwarded",
                "for=\"[2001:db8::7]:4711\";proto=https, For=10.0.0.3",
            ),
        ]);
        assert_eq!(trusted.resolve(ip("::1"), &both), ip("2001:db8::7"));
        let with_port = headers(&[("forwarded", "for=192.0.2.60:8080;by=10.0.0.1")]);
        assert_eq!(
            trusted.resolve(ip("10.0.0.1"), &with_port),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn an_unreadable_hop_stops_at_the_last_known_address() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let hidden = headers(&[("forwarded", "for=unknown, for=10.0.0.5")]);
        assert_eq!(trusted.resolve(ip("10.0.0.1"), &hidden), ip("10.0.0.5"));
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.9")]);
        assert_eq!(
            trusted.resolve(ip("10.0.0.1"), &all_trusted),
            ip("10.0.0.9")
        );
        assert_eq!(
            trusted.resolve(
                ip("::ffff:10.0.0.1"),
                &headers(&[("x-forwarded-for", "8.8.8.8")])
            ),
            ip("8.8.8.8")
        );
    }
}
