//! The grammar of runtime member changes (HAProxy 3.x's `add server`, `del server`,
//! `set server … addr`): the address words and the optional `weight N` / `port N`.

use std::net::{IpAddr, SocketAddr};

use super::{Command, ParseError, server, weight};

/// A member address from the admin socket: an IP literal, with a port when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberAddr {
    /// The IP address.
    pub ip: IpAddr,
    /// The port, when the command named one.
    pub port: Option<u16>,
}

impl MemberAddr {
    /// The socket address, with `default_port` when the command named none.
    pub fn with_default_port(self, default_port: u16) -> SocketAddr {
        SocketAddr::new(self.ip, self.port.unwrap_or(default_port))
    }
}

/// `ADDR[:PORT]`: `198.18.0.1`, `198.18.0.1:8080`, `::1`, `[::1]:8080`.
fn addr(word: Option<&str>) -> Result<MemberAddr, ParseError> {
    let w = word.ok_or(ParseError::Missing)?;
    if let Ok(sa) = w.parse::<SocketAddr>() {
        return Ok(MemberAddr {
            ip: sa.ip(),
            port: Some(sa.port()),
        });
    }
    let bare = w.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map(|ip| MemberAddr { ip, port: None })
        .map_err(|_| ParseError::BadAddr(super::truncate(w)))
}

fn port(word: Option<&str>) -> Result<u16, ParseError> {
    match word.ok_or(ParseError::Missing)?.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ParseError::BadPort),
    }
}

/// `add server C/M ADDR[:PORT] [weight N]` (after `add server`).
pub(super) fn add<'a>(words: &mut impl Iterator<Item = &'a str>) -> Result<Command, ParseError> {
    let s = server(words.next())?;
    let a = addr(words.next())?;
    let w = match words.next() {
        None => None,
        Some("weight") => Some(weight(words.next())?),
        Some(_) => return Err(ParseError::Extra),
    };
    Ok(Command::AddServer(s, a, w))
}

/// `del server C/M` (after `del server`).
pub(super) fn del<'a>(words: &mut impl Iterator<Item = &'a str>) -> Result<Command, ParseError> {
    Ok(Command::DelServer(server(words.next())?))
}

/// `ADDR [port N]` of `set server C/M addr` (after `addr`).
pub(super) fn set_addr<'a>(
    s: super::ServerRef,
    words: &mut impl Iterator<Item = &'a str>,
) -> Result<Command, ParseError> {
    let mut a = addr(words.next())?;
    match words.next() {
        None => {}
        Some("port") => a.port = Some(port(words.next())?),
        Some(_) => return Err(ParseError::Extra),
    }
    Ok(Command::SetServerAddr(s, a))
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::super::tests::s;
    use super::*;

    fn a(text: &str, port: Option<u16>) -> MemberAddr {
        MemberAddr {
            ip: text.parse().unwrap(),
            port,
        }
    }

    #[test]
    fn runtime_member_commands_parse() {
        assert_eq!(
            parse("add server app/m9 127.0.0.1:9009 weight 3"),
            Ok(Command::AddServer(
                s("app", "m9"),
                a("127.0.0.1", Some(9009)),
                Some(3)
            ))
        );
        assert_eq!(
            parse("add server app/m9 ::1"),
            Ok(Command::AddServer(s("app", "m9"), a("::1", None), None))
        );
        assert_eq!(
            parse("add server app/m9 [::1]:80"),
            Ok(Command::AddServer(s("app", "m9"), a("::1", Some(80)), None))
        );
        assert_eq!(
            parse("del server app/m9"),
            Ok(Command::DelServer(s("app", "m9")))
        );
        assert_eq!(
            parse("set server app/m1 addr 198.18.0.7 port 8080"),
            Ok(Command::SetServerAddr(
                s("app", "m1"),
                a("198.18.0.7", Some(8080))
            ))
        );
        assert_eq!(
            parse("set server app/m1 addr 198.18.0.7"),
            Ok(Command::SetServerAddr(
                s("app", "m1"),
                a("198.18.0.7", None)
            ))
        );
        assert_eq!(
            a("198.18.0.7", None).with_default_port(80).to_string(),
            "198.18.0.7:80"
        );
    }

    #[test]
    fn bad_runtime_member_commands_are_errors() {
        assert_eq!(parse("add server app/m9"), Err(ParseError::Missing));
        assert_eq!(
            parse("add server app/m9 cache.internal:80"),
            Err(ParseError::BadAddr("cache.internal:80".into()))
        );
        assert_eq!(
            parse("add server app/m9 127.0.0.1 weight 5000"),
            Err(ParseError::BadWeight)
        );
        assert_eq!(
            parse("add server app/m9 127.0.0.1 backup"),
            Err(ParseError::Extra)
        );
        assert_eq!(
            parse("del server app"),
            Err(ParseError::BadServer("app".into()))
        );
        assert_eq!(parse("del server app/m1 now"), Err(ParseError::Extra));
        assert_eq!(
            parse("set server app/m1 addr 1.2.3.4 port 0"),
            Err(ParseError::BadPort)
        );
        assert_eq!(
            parse("set server app/m1 addr 1.2.3.4 port"),
            Err(ParseError::Missing)
        );
        assert_eq!(parse("del"), Err(ParseError::Unknown));
    }
}
