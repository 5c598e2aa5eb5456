//! The admin socket's command language, in the style of HAProxy's stats socket: one command
//! per line, words separated by spaces. Pure parsing, so garbage of any kind becomes a
//! `ParseError` (and an error line to the client), never a panic; fuzzed in `fuzz/`.

use crate::balance::AdminState;

mod members;
pub use members::MemberAddr;

/// A member reference `CLUSTER/MEMBER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    /// Cluster name.
    pub cluster: String,
    /// Member name (its address when unnamed).
    pub member: String,
}

/// Output format of `show stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per member, HAProxy-like columns.
    Csv,
    /// One JSON document.
    Json,
    /// elb-proxy's own compact CSV (the layout before the HAProxy one).
    Elb,
}

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `help`: the command list.
    Help,
    /// `show info`: process information.
    ShowInfo,
    /// `show stat [json]`: counters per cluster and member.
    ShowStat(Format),
    /// `show servers state`: members' admin state, health and weight.
    ShowServersState,
    /// `show resolvers`: each member name, its addresses and whether it resolves.
    ShowResolvers,
    /// `disable server C/M`: maintenance.
    DisableServer(ServerRef),
    /// `enable server C/M`: back to ready.
    EnableServer(ServerRef),
    /// `set server C/M state ready|drain|maint`.
    SetServerState(ServerRef, AdminState),
    /// `set weight C/M N` (or `set server C/M weight N`).
    SetWeight(ServerRef, u32),
    /// `get weight C/M`.
    GetWeight(ServerRef),
    /// `reload`: reload the config file (kept when invalid).
    Reload,
    /// Whole-proxy drain (health 503, vrrpd told) or back to serving.
    SetProxyState(bool),
    /// `reopen logs`: reopen the access log file (logrotate).
    ReopenLogs,
    /// `prompt`: toggle HAProxy's interactive mode (the connection stays open, each
    /// answer is followed by the `> ` prompt); hatop and other HAProxy tools use it.
    Prompt,
    /// `set timeout cli N`: this session's idle timeout, in seconds (1..=3600).
    SetTimeoutCli(u64),
    /// `quit`: close this session.
    Quit,
    /// `add server C/M ADDR[:PORT] [weight N]`: a new member (in maintenance) until the next reload.
    AddServer(ServerRef, MemberAddr, Option<u32>),
    /// `del server C/M`: remove a drained member until the next reload.
    DelServer(ServerRef),
    /// `set server C/M addr ADDR [port N]`: move a member until the next reload.
    SetServerAddr(ServerRef, MemberAddr),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Why a command line was refused; the display form follows `error: ` on the socket.
pub enum ParseError {
    #[error("empty command")]
    /// Nothing but whitespace.
    Empty,
    #[error("unknown command; try 'help'")]
    /// Not a known command.
    Unknown,
    #[error("expected CLUSTER/MEMBER, got '{0}'")]
    /// The member reference is not `CLUSTER/MEMBER`.
    BadServer(String),
    #[error("expected one of ready, drain, maint")]
    /// Not one of the admin states.
    BadState,
    #[error("weight must be an integer 0..=1000")]
    /// Not a weight in 0..=1000.
    BadWeight,
    #[error("unexpected extra words")]
    /// Words after a complete command.
    Extra,
    #[error("timeout must be whole seconds 1..=3600")]
    /// Not a timeout in 1..=3600 seconds.
    BadTimeout,
    #[error("expected an IP address with an optional :PORT, got '{0}'")]
    /// Not an IP literal (names are not resolved on the admin socket).
    BadAddr(String),
    #[error("port must be an integer 1..=65535")]
    /// Not a port.
    BadPort,
    #[error("missing argument")]
    /// A required word is missing.
    Missing,
}

/// The text of `help`.
pub const HELP: &str = "\
help                                   this list
show info                              process information
show stat [json|elb]                   counters: HAProxy 2.6 CSV, JSON, or elb-proxy's CSV
show servers state                     members' admin state, health and weight
show resolvers                         member names: addresses, resolving or not, counts
disable server CLUSTER/MEMBER          put a member in maintenance (no traffic)
enable server CLUSTER/MEMBER           back to ready
set server CLUSTER/MEMBER state ready|drain|maint
set weight CLUSTER/MEMBER N            0..1000 (also: set server C/M weight N)
get weight CLUSTER/MEMBER
add server CLUSTER/MEMBER ADDR[:PORT] [weight N]   new member, in maintenance until enabled (until the next reload)
del server CLUSTER/MEMBER              remove a drained member (until the next reload)
set server CLUSTER/MEMBER addr ADDR [port N]       move a member (until the next reload)
reload                                 reload the config file (kept if invalid)
set proxy state drain|ready            whole proxy: health 503 + vrrpd told / serve again
reopen logs                            reopen the access log file (logrotate)
prompt                                 interactive mode (HAProxy's): stay connected, '> ' prompt
set timeout cli N                      this session's idle timeout, 1..3600 s
quit                                   close the session
";

fn server(word: Option<&str>) -> Result<ServerRef, ParseError> {
    let w = word.ok_or(ParseError::Missing)?;
    let (c, m) = w
        .split_once('/')
        .ok_or_else(|| ParseError::BadServer(truncate(w)))?;
    if c.is_empty() || m.is_empty() || m.contains('/') {
        return Err(ParseError::BadServer(truncate(w)));
    }
    Ok(ServerRef {
        cluster: c.to_string(),
        member: m.to_string(),
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

fn state(word: Option<&str>) -> Result<AdminState, ParseError> {
    match word.ok_or(ParseError::Missing)? {
        "ready" => Ok(AdminState::Ready),
        "drain" => Ok(AdminState::Drain),
        "maint" => Ok(AdminState::Maint),
        _ => Err(ParseError::BadState),
    }
}

fn weight(word: Option<&str>) -> Result<u32, ParseError> {
    let w: u32 = word
        .ok_or(ParseError::Missing)?
        .parse()
        .map_err(|_| ParseError::BadWeight)?;
    if w > 1000 {
        return Err(ParseError::BadWeight);
    }
    Ok(w)
}

/// Parses one line (without its newline).
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let mut words = line.split_ascii_whitespace();
    let first = words.next().ok_or(ParseError::Empty)?;
    let cmd = match (first, words.next()) {
        ("help", None) => return Ok(Command::Help),
        ("reload", None) => return Ok(Command::Reload),
        ("show", Some("info")) => Command::ShowInfo,
        ("show", Some("resolvers")) => Command::ShowResolvers,
        ("reopen", Some("logs")) => Command::ReopenLogs,
        ("prompt", None) => return Ok(Command::Prompt),
        ("quit", None) => return Ok(Command::Quit),
        ("set", Some("timeout")) => match (words.next(), words.next()) {
            (Some("cli"), Some(n)) => match n.parse::<u64>() {
                Ok(n @ 1..=3600) => Command::SetTimeoutCli(n),
                _ => return Err(ParseError::BadTimeout),
            },
            (Some("cli"), None) => return Err(ParseError::Missing),
            _ => return Err(ParseError::Unknown),
        },
        ("show", Some("stat")) => match words.next() {
            None => return Ok(Command::ShowStat(Format::Csv)),
            Some("json" | "typed") => Command::ShowStat(Format::Json),
            Some("elb") => Command::ShowStat(Format::Elb),
            // HAProxy's "all proxies, all types, all servers" filter, sent by hatop.
            Some("-1") => match (words.next(), words.next()) {
                (Some("-1"), Some("-1")) => Command::ShowStat(Format::Csv),
                _ => return Err(ParseError::Unknown),
            },
            Some(_) => return Err(ParseError::Unknown),
        },
        ("show", Some("servers")) => match words.next() {
            Some("state") => Command::ShowServersState,
            _ => return Err(ParseError::Unknown),
        },
        ("disable", Some("server")) => Command::DisableServer(server(words.next())?),
        ("enable", Some("server")) => Command::EnableServer(server(words.next())?),
        ("set", Some("server")) => {
            let s = server(words.next())?;
            match words.next() {
                Some("state") => Command::SetServerState(s, state(words.next())?),
                Some("weight") => Command::SetWeight(s, weight(words.next())?),
                Some("addr") => members::set_addr(s, &mut words)?,
                _ => return Err(ParseError::Unknown),
            }
        }
        ("set", Some("weight")) => {
            let s = server(words.next())?;
            Command::SetWeight(s, weight(words.next())?)
        }
        ("get", Some("weight")) => Command::GetWeight(server(words.next())?),
        ("add", Some("server")) => members::add(&mut words)?,
        ("del", Some("server")) => members::del(&mut words)?,
        ("set", Some("proxy")) => match (words.next(), words.next()) {
            (Some("state"), Some("drain")) => Command::SetProxyState(false),
            (Some("state"), Some("ready")) => Command::SetProxyState(true),
            (Some("state"), Some(_)) => return Err(ParseError::BadState),
            (Some("state"), None) => return Err(ParseError::Missing),
            _ => return Err(ParseError::Unknown),
        },
        _ => return Err(ParseError::Unknown),
    };
    if words.next().is_some() {
        return Err(ParseError::Extra);
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `CLUSTER/MEMBER` as the parser gives it (also for the member commands' tests).
    pub(super) fn s(c: &str, m: &str) -> ServerRef {
        ServerRef {
            cluster: c.into(),
            member: m.into(),
        }
    }

    #[test]
    fn every_command_parses() {
        assert_eq!(parse("help"), Ok(Command::Help));
        assert_eq!(parse("show info"), Ok(Command::ShowInfo));
        assert_eq!(parse("show stat"), Ok(Command::ShowStat(Format::Csv)));
        assert_eq!(
            parse("  show   stat json "),
            Ok(Command::ShowStat(Format::Json))
        );
        assert_eq!(parse("show servers state"), Ok(Command::ShowServersState));
        assert_eq!(
            parse("disable server app/m1"),
            Ok(Command::DisableServer(s("app", "m1")))
        );
        assert_eq!(
            parse("enable server app/127.0.0.1:80"),
            Ok(Command::EnableServer(s("app", "127.0.0.1:80")))
        );
        assert_eq!(
            parse("set server app/m1 state drain"),
            Ok(Command::SetServerState(s("app", "m1"), AdminState::Drain))
        );
        assert_eq!(
            parse("set server app/m1 weight 7"),
            Ok(Command::SetWeight(s("app", "m1"), 7))
        );
        assert_eq!(
            parse("set weight app/m1 0"),
            Ok(Command::SetWeight(s("app", "m1"), 0))
        );
        assert_eq!(
            parse("get weight app/m1"),
            Ok(Command::GetWeight(s("app", "m1")))
        );
        assert_eq!(parse("reload"), Ok(Command::Reload));
        assert_eq!(parse("reopen logs"), Ok(Command::ReopenLogs));
        assert_eq!(parse("prompt"), Ok(Command::Prompt));
        assert_eq!(parse("quit"), Ok(Command::Quit));
        assert_eq!(parse("set timeout cli 60"), Ok(Command::SetTimeoutCli(60)));
        assert_eq!(parse("set timeout cli 0"), Err(ParseError::BadTimeout));
        assert_eq!(parse("set timeout cli 9999"), Err(ParseError::BadTimeout));
        assert_eq!(parse("show stat elb"), Ok(Command::ShowStat(Format::Elb)));
        assert_eq!(
            parse("show stat -1 -1 -1"),
            Ok(Command::ShowStat(Format::Csv))
        );
        assert_eq!(parse("show stat 1 2 3"), Err(ParseError::Unknown));
        assert_eq!(
            parse("set proxy state drain"),
            Ok(Command::SetProxyState(false))
        );
        assert_eq!(
            parse("set proxy state ready"),
            Ok(Command::SetProxyState(true))
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse("   "), Err(ParseError::Empty));
        assert_eq!(parse("shutdown"), Err(ParseError::Unknown));
        assert_eq!(parse("show"), Err(ParseError::Unknown));
        assert_eq!(
            parse("disable server appm1"),
            Err(ParseError::BadServer("appm1".into()))
        );
        assert_eq!(
            parse("disable server /m1"),
            Err(ParseError::BadServer("/m1".into()))
        );
        assert_eq!(
            parse("disable server a/b/c"),
            Err(ParseError::BadServer("a/b/c".into()))
        );
        assert_eq!(parse("disable server"), Err(ParseError::Missing));
        assert_eq!(parse("set server a/b state up"), Err(ParseError::BadState));
        assert_eq!(parse("set weight a/b -1"), Err(ParseError::BadWeight));
        assert_eq!(parse("set weight a/b 1001"), Err(ParseError::BadWeight));
        assert_eq!(
            parse("set weight a/b 99999999999999999999"),
            Err(ParseError::BadWeight)
        );
        assert_eq!(parse("help me"), Err(ParseError::Unknown));
        assert_eq!(parse("show info now"), Err(ParseError::Extra));
        assert_eq!(parse("\u{0}\u{7f}ÿ"), Err(ParseError::Unknown));
    }
}
