//! Where cluster and node endpoints listen, the host they are reported at, and the ports
//! they take.
//!
//! Endpoints listen on the server's own address (`--host`) and are reported at the
//! endpoint host (`--endpoint-host`), which is what clients elsewhere (another container,
//! another network namespace) reach that address by. Their ports come from the endpoint
//! port range (`--endpoint-ports`), lowest free first, or else from the system.
//!
//! A port is held bound from the moment it is chosen (and reported) until its endpoint
//! takes it, so that nothing else can take it meanwhile. A held port nobody claims any
//! more (its cluster was deleted before it started) goes back when its service's servers
//! are next brought in line ([`Endpoints::settle`]).
//!
//! Servers formed ahead of their cluster hold ports too, as spares
//! ([`Endpoints::reserve_spare`]): a reservation that finds no other free port takes
//! theirs, and the servers are then of no use.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, TcpListener as StdListener};
use std::ops::RangeInclusive;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;

use crate::state::Scope;

/// The engines whose endpoints hold ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Redis,
    Postgres,
}

/// Every port of the endpoint range is taken (or the system has none to give).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoPort(pub String);

/// A port chosen for an endpoint that has not started yet.
#[derive(Debug)]
struct Held {
    listener: StdListener,
    port: u16,
    kind: Kind,
    scope: Scope,
    /// Held for servers formed ahead of their cluster, not yet for a cluster.
    spare: bool,
}

/// The endpoints' address, host and ports.
#[derive(Debug)]
pub struct Endpoints {
    host: String,
    address: IpAddr,
    range: Option<RangeInclusive<u16>>,
    held: Mutex<Vec<Held>>,
}

impl Default for Endpoints {
    /// On loopback, reported as `127.0.0.1`, on ports the system picks.
    fn default() -> Self {
        Endpoints::new("127.0.0.1".to_owned(), Ipv4Addr::LOCALHOST.into(), None)
    }
}

impl Endpoints {
    #[must_use]
    pub fn new(host: String, address: IpAddr, range: Option<RangeInclusive<u16>>) -> Self {
        Endpoints {
            host,
            address,
            range,
            held: Mutex::default(),
        }
    }

    /// The host every endpoint is reported at (and its certificate names).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The address endpoints listen on.
    #[must_use]
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// `count` new ports for endpoints of `kind` in `scope`, held until the endpoints take
    /// them: all of them, or none.
    ///
    /// # Errors
    /// The range (or the system) has fewer free ports.
    pub fn reserve(&self, kind: Kind, scope: &Scope, count: usize) -> Result<Vec<u16>, NoPort> {
        let mut held = self.held();
        let mut taken: HashSet<u16> = held.iter().map(|h| h.port).collect();
        let mut new = Vec::with_capacity(count);
        for _ in 0..count {
            let (listener, port) = match self.free_port(&taken) {
                Ok(free) => free,
                Err(e) => {
                    // The last resort: a port held for servers formed ahead.
                    let Some(at) = held.iter().position(|h| h.spare) else {
                        return Err(NoPort(format!(
                            "{e}: {count} endpoint port{} needed",
                            if count == 1 { " is" } else { "s are" }
                        )));
                    };
                    let h = held.swap_remove(at);
                    (h.listener, h.port)
                }
            };
            taken.insert(port);
            new.push(Held {
                listener,
                port,
                kind,
                scope: scope.clone(),
                spare: false,
            });
        }
        let ports = new.iter().map(|h| h.port).collect();
        held.extend(new);
        Ok(ports)
    }

    /// `count` new ports held for servers formed ahead of their cluster: any reservation
    /// that finds no other free port takes them.
    ///
    /// # Errors
    /// The range (or the system) has fewer free ports.
    pub fn reserve_spare(&self, count: usize) -> Result<Vec<u16>, NoPort> {
        let mut held = self.held();
        let mut taken: HashSet<u16> = held.iter().map(|h| h.port).collect();
        let mut new = Vec::with_capacity(count);
        for _ in 0..count {
            let (listener, port) = self.free_port(&taken).map_err(NoPort)?;
            taken.insert(port);
            new.push(Held {
                listener,
                port,
                kind: Kind::Redis,
                scope: Scope::new("", ""),
                spare: true,
            });
        }
        let ports = new.iter().map(|h| h.port).collect();
        held.extend(new);
        Ok(ports)
    }

    /// Whether every one of `ports` is still held as a spare.
    pub fn spares_held(&self, ports: &[u16]) -> bool {
        let held = self.held();
        ports
            .iter()
            .all(|p| held.iter().any(|h| h.spare && h.port == *p))
    }

    /// Holds spare `ports` for endpoints of `kind` in `scope`; all of them, or none (when
    /// one was taken meanwhile).
    pub fn hand_over(&self, ports: &[u16], kind: Kind, scope: &Scope) -> bool {
        let mut held = self.held();
        if !ports
            .iter()
            .all(|p| held.iter().any(|h| h.spare && h.port == *p))
        {
            return false;
        }
        for h in held
            .iter_mut()
            .filter(|h| h.spare && ports.contains(&h.port))
        {
            h.spare = false;
            h.kind = kind;
            h.scope = scope.clone();
        }
        true
    }

    /// Lets go of every spare port.
    pub fn release_every_spare(&self) {
        self.held().retain(|h| !h.spare);
    }

    /// Lets go of spare `ports`.
    pub fn release_spares(&self, ports: &[u16]) {
        self.held()
            .retain(|h| !(h.spare && ports.contains(&h.port)));
    }

    /// Holds `port` for an endpoint of `kind` in `scope` that will start soon (a cluster
    /// recovered from the data directory, or formed again), when the port is free and in
    /// the range; answers whether it was.
    pub fn hold(&self, kind: Kind, scope: &Scope, port: u16) -> bool {
        if !self.in_range(port) {
            return false;
        }
        let mut held = self.held();
        if let Some(h) = held.iter_mut().find(|h| h.port == port) {
            if h.spare {
                // Servers formed ahead lose it.
                h.spare = false;
                h.kind = kind;
                h.scope = scope.clone();
            }
            return true;
        }
        match StdListener::bind((self.address, port)) {
            Ok(listener) => {
                held.push(Held {
                    listener,
                    port,
                    kind,
                    scope: scope.clone(),
                    spare: false,
                });
                true
            }
            Err(_) => false,
        }
    }

    /// Lets go of the ports held for `kind` in `scope` that no cluster claims any more.
    /// Called with the region's state read (its lock held), so that no port is reserved
    /// meanwhile.
    pub fn settle(&self, kind: Kind, scope: &Scope, claimed: &HashSet<u16>) {
        self.held().retain(|h| {
            h.spare || h.kind != kind || h.scope != *scope || claimed.contains(&h.port)
        });
    }

    /// Lets go of every held port (after a reset of the state).
    pub fn clear(&self) {
        self.held().clear();
    }

    /// The listener of an endpoint: its held port, or `preferred` when that is still
    /// free, or else a new port.
    ///
    /// # Errors
    /// No port is free.
    pub fn bind(&self, preferred: Option<u16>) -> std::io::Result<TcpListener> {
        let listener = {
            let mut held = self.held();
            let mine =
                preferred.and_then(|port| held.iter().position(|h| h.port == port && !h.spare));
            let again = || {
                preferred
                    .filter(|p| self.in_range(*p))
                    .and_then(|p| StdListener::bind((self.address, p)).ok())
            };
            if let Some(at) = mine {
                held.swap_remove(at).listener
            } else if let Some(listener) = again() {
                listener
            } else {
                let taken = held.iter().map(|h| h.port).collect();
                self.free_port(&taken)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::AddrInUse, e))?
                    .0
            }
        };
        listener.set_nonblocking(true)?;
        TcpListener::from_std(listener)
    }

    fn in_range(&self, port: u16) -> bool {
        self.range.as_ref().is_none_or(|r| r.contains(&port))
    }

    /// A bound listener on a port nobody holds: the lowest free one of the range, or one
    /// the system picks.
    fn free_port(&self, taken: &HashSet<u16>) -> Result<(StdListener, u16), String> {
        let Some(range) = &self.range else {
            let listener = StdListener::bind((self.address, 0))
                .map_err(|e| format!("no port could be bound on {}: {e}", self.address))?;
            let port = listener.local_addr().map_err(|e| e.to_string())?.port();
            return Ok((listener, port));
        };
        range
            .clone()
            .filter(|port| !taken.contains(port))
            .find_map(|port| Some((StdListener::bind((self.address, port)).ok()?, port)))
            .ok_or_else(|| {
                format!(
                    "every endpoint port of {}-{} is taken",
                    range.start(),
                    range.end()
                )
            })
    }

    fn held(&self) -> MutexGuard<'_, Vec<Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Endpoints with a range of `len` ports that can all be bound now (found by
    /// reserving them once).
    fn with_free_range(len: u16) -> (Endpoints, RangeInclusive<u16>) {
        let scope = Scope::new("123456789012", "us-east-1");
        loop {
            let start = StdListener::bind(("127.0.0.1", 0))
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let Some(end) = start.checked_add(len - 1) else {
                continue;
            };
            let endpoints = Endpoints::new(
                "127.0.0.1".to_owned(),
                Ipv4Addr::LOCALHOST.into(),
                Some(start..=end),
            );
            if endpoints.reserve(Kind::Redis, &scope, len.into()).is_ok() {
                endpoints.clear();
                return (endpoints, start..=end);
            }
        }
    }

    #[tokio::test]
    async fn ports_come_from_the_range_all_or_none_and_go_back() {
        let (endpoints, range) = with_free_range(3);
        let scope = Scope::new("123456789012", "us-east-1");
        let two = endpoints.reserve(Kind::Redis, &scope, 2).unwrap();
        assert_eq!(two, [*range.start(), range.start() + 1]);
        // Two more than are left: none is taken.
        let err = endpoints.reserve(Kind::Redis, &scope, 2).unwrap_err();
        assert!(err.0.contains("is taken"), "{err}");
        let one = endpoints.reserve(Kind::Postgres, &scope, 1).unwrap();
        assert_eq!(one, [*range.end()]);
        // The first endpoint starts on its port; the second's cluster is gone.
        let listener = endpoints.bind(Some(two[0])).unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), two[0]);
        endpoints.settle(Kind::Redis, &scope, &HashSet::new());
        assert_eq!(endpoints.reserve(Kind::Redis, &scope, 1).unwrap(), [two[1]]);
        drop(listener);
        assert_eq!(endpoints.reserve(Kind::Redis, &scope, 1).unwrap(), [two[0]]);
        // The other kind's port was never let go.
        assert!(endpoints.reserve(Kind::Redis, &scope, 1).is_err());
        endpoints.clear();
        assert_eq!(endpoints.reserve(Kind::Redis, &scope, 3).unwrap().len(), 3);
    }

    #[tokio::test]
    async fn ports_held_for_servers_formed_ahead_give_way_to_clusters() {
        let (endpoints, range) = with_free_range(4);
        let scope = Scope::new("123456789012", "us-east-1");
        let spares = endpoints.reserve_spare(2).unwrap();
        assert_eq!(spares, [*range.start(), range.start() + 1]);
        // Clusters brought in line keep them.
        endpoints.settle(Kind::Redis, &scope, &HashSet::new());
        assert!(endpoints.spares_held(&spares));
        // A cluster with four endpoints takes the two free ports, then the spares.
        let four = endpoints.reserve(Kind::Redis, &scope, 4).unwrap();
        assert_eq!(four.len(), 4);
        assert!(!endpoints.spares_held(&spares));
        assert!(!endpoints.hand_over(&spares, Kind::Redis, &scope));
        endpoints.clear();
        // Handed over whole, they are the cluster's: settled away when unclaimed.
        let spares = endpoints.reserve_spare(3).unwrap();
        assert!(endpoints.hand_over(&spares, Kind::Redis, &scope));
        assert!(!endpoints.spares_held(&spares));
        let listener = endpoints.bind(Some(spares[0])).unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), spares[0]);
        endpoints.settle(Kind::Redis, &scope, &HashSet::new());
        assert_eq!(endpoints.reserve(Kind::Redis, &scope, 3).unwrap().len(), 3);
        drop(listener);
        endpoints.release_every_spare();
    }
}
