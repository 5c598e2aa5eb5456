//! `request_id:`: the header that carries a request id to members and into the access log.

use serde::{Deserialize, Serialize};

/// Request ids: one is made for each request that comes without one, and a client's own is
/// kept only when it comes from a peer in `trusted_proxies` (otherwise it is replaced, so a
/// client cannot choose the id the logs and members see).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RequestId {
    /// The header's name.
    #[serde(default = "default_request_id_header")]
    pub header: String,
}

impl Default for RequestId {
    fn default() -> Self {
        Self {
            header: default_request_id_header(),
        }
    }
}

fn default_request_id_header() -> String {
    "X-Request-Id".into()
}
