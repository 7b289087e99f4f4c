//! The client's address: the TCP peer, or, when the peer is one of the configured trusted
//! proxies (`DOCENT_TRUSTED_PROXIES`), the nearest untrusted address in `X-Forwarded-For`,
//! walked right to left. A client can prepend anything to that header, but only the entries
//! appended by proxies we trust are believed; from any other peer the header is ignored.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderName, Request};
use ipnet::IpNet;

use crate::config::{ConfigError, Settings, parse_trusted_proxies};

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        parse_trusted_proxies(&settings.security.trusted_proxies).map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// What [`client_ip`] reads: a request or its parts.
pub trait RequestHead {
    fn headers(&self) -> &HeaderMap;
    fn extensions(&self) -> &Extensions;
}

impl RequestHead for Parts {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}

impl<B> RequestHead for Request<B> {
    fn headers(&self) -> &HeaderMap {
        Request::headers(self)
    }
    fn extensions(&self) -> &Extensions {
        Request::extensions(self)
    }
}

/// The address of the client that sent `request`. Without a connection address (a request
/// not served from a socket) this is `0.0.0.0`.
pub fn client_ip(request: &impl RequestHead, proxies: &TrustedProxies) -> IpAddr {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| canonical(c.0.ip()));
    let mut client = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if peer.is_none() || !proxies.contains(client) {
        return client;
    }
    for value in request.headers().get_all(X_FORWARDED_FOR).iter().rev() {
        let Ok(value) = value.to_str() else { return client };
        for entry in value.rsplit(',') {
            let Some(hop) = parse_hop(entry) else { return client };
            client = hop;
            if !proxies.contains(hop) {
                return hop;
            }
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:80`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))?;
    Some(canonical(ip))
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, from dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Request<()> {
        let mut request = Request::new(());
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        for value in forwarded {
            request.headers_mut().append(X_FORWARDED_FOR, value.parse().unwrap());
        }
        request
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|n| n.parse().unwrap()).collect())
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let req = request("198.51.100.9:5000", &["203.0.113.1"]);
        assert_eq!(client_ip(&req, &proxies(&[])), "198.51.100.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(&req, &proxies(&["10.0.0.0/8"])), "198.51.100.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_walk_skips_trusted_hops_right_to_left_and_stops_at_the_first_untrusted_one() {
        let req = request("10.0.0.2:5000", &["6.6.6.6, 203.0.113.1", "10.0.0.7"]);
        assert_eq!(client_ip(&req, &proxies(&["10.0.0.0/8"])), "203.0.113.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk_at_the_last_address_it_could_trust() {
        let req = request("10.0.0.2:5000", &["203.0.113.1, unknown"]);
        assert_eq!(client_ip(&req, &proxies(&["10.0.0.0/8"])), "10.0.0.2".parse::<IpAddr>().unwrap());
        let ported = request("[::ffff:10.0.0.2]:5000", &["[2001:db8::1]:443"]);
        assert_eq!(client_ip(&ported, &proxies(&["10.0.0.0/8"])), "2001:db8::1".parse::<IpAddr>().unwrap());
    }
}
