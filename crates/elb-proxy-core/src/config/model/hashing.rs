//! The `balance: hash` part of a cluster: what request attribute is hashed, and the bounded
//! load factor (HAProxy's `hash-balance-factor`).

use serde::{Deserialize, Serialize};

/// The request attribute a hashing cluster hashes; requests with equal keys go to the same
/// member while the member set stays the same.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case", try_from = "RawHashOn")]
pub enum HashOn {
    /// The client's IP address (after PROXY protocol, before any forwarding header).
    #[default]
    Source,
    /// The request path, without the query.
    Path,
    /// The value of this request header (`hash_on: { header: X-User }`).
    Header(String),
    /// The value of this request cookie (`hash_on: { cookie: session }`).
    Cookie(String),
}

/// `hash_on` as written: a word (`source`, `path`) or a one-key map (`{ header: NAME }`,
/// `{ cookie: NAME }`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawHashOn {
    Word(String),
    Keyed(std::collections::BTreeMap<String, String>),
}

impl TryFrom<RawHashOn> for HashOn {
    type Error = String;
    fn try_from(raw: RawHashOn) -> Result<Self, String> {
        const EXPECTED: &str = "expected source, path, { header: NAME } or { cookie: NAME }";
        match raw {
            RawHashOn::Word(w) => match w.as_str() {
                "source" => Ok(Self::Source),
                "path" => Ok(Self::Path),
                _ => Err(format!("hash_on `{w}`: {EXPECTED}")),
            },
            RawHashOn::Keyed(map) => {
                let mut it = map.into_iter();
                match (it.next(), it.next()) {
                    (Some((k, v)), None) if k == "header" => Ok(Self::Header(v)),
                    (Some((k, v)), None) if k == "cookie" => Ok(Self::Cookie(v)),
                    (Some((k, _)), None) => Err(format!("hash_on `{k}`: {EXPECTED}")),
                    _ => Err(format!("hash_on: {EXPECTED}")),
                }
            }
        }
    }
}
