//! [`Subject`]: whom a rate limit or a token quota is counted against. A signed-in user and an
//! API key are counted by id; an anonymous caller by client address, since anonymous session
//! cookies cost nothing to mint. IPv6 clients are counted by their /64 network, the block one
//! host is usually given, so rotating addresses inside it gains nothing.

use std::fmt;
use std::net::IpAddr;

use ipnet::Ipv6Net;

use super::Principal;

/// The kind of caller a subject is, which picks its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    User,
    Key,
    Anonymous,
}

impl SubjectKind {
    /// `user`, `key` or `anonymous`, as stored and as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Key => "key",
            Self::Anonymous => "anonymous",
        }
    }
}

/// One limited party.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject {
    pub kind: SubjectKind,
    /// The user or key id, or the client network (`192.0.2.7`, `2001:db8:1:2::/64`).
    pub id: String,
}

impl Subject {
    /// The subject of a request by `principal` (absent: anonymous) from client address `ip`.
    pub fn of(principal: Option<&Principal>, ip: IpAddr) -> Self {
        match principal {
            Some(Principal::User { id, .. }) => Self { kind: SubjectKind::User, id: id.clone() },
            Some(Principal::ApiKey { id, .. }) => Self { kind: SubjectKind::Key, id: id.clone() },
            Some(Principal::Anonymous { .. }) | None => Self { kind: SubjectKind::Anonymous, id: client_network(ip) },
        }
    }
}

impl fmt::Display for Subject {
    /// `user:<id>`, `key:<id>` or `anonymous:<network>`: the rate-limit key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.id)
    }
}

/// An IPv4 address as is (IPv4-mapped IPv6 included); an IPv6 address as its /64 network.
pub fn client_network(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => Ipv6Net::new(v6, 64).map(|net| net.trunc().to_string()).unwrap_or_else(|_| v6.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    #[test]
    fn users_and_keys_are_counted_by_id_and_everyone_else_by_address() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let user = Principal::User { id: "u1".into(), role: Role::Reader };
        let anonymous = Principal::Anonymous { session: "s".repeat(64) };
        assert_eq!(Subject::of(Some(&user), ip).to_string(), "user:u1");
        assert_eq!(Subject::of(Some(&anonymous), ip).to_string(), "anonymous:192.0.2.7");
        assert_eq!(Subject::of(None, ip), Subject::of(Some(&anonymous), ip));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(client_network("2001:db8:1:2:aaaa::1".parse().unwrap()), "2001:db8:1:2::/64");
        assert_eq!(client_network("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
