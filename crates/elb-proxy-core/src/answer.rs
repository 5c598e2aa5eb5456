//! The request path's failures and the one place that decides what the client is told
//! about each: status, body and headers. The proxy builds a `RequestError` where a request
//! fails and turns it into a response with [`RequestError::answer`]; no other code picks an
//! error status, so a new failure is a new kind here and the compiler finds every match.

use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};

/// What went wrong with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A path the listener does not serve (health-only and metrics listeners).
    NotFound,
    /// No route matched and there is no `default_cluster`.
    NoRoute,
    /// The request body is above the route's limit (declared, or counted while streaming).
    BodyTooLarge,
    /// The client's own body failed: it went away or sent bad framing.
    ClientBody,
    /// No member of the cluster could take the request.
    NoMember,
    /// Every member that could be tried failed before the request was sent.
    MembersExhausted,
    /// The connection to the member failed (refused, reset, dead pooled connection).
    Connect,
    /// Connecting to the member took longer than `timeouts.connect`.
    ConnectTimeout,
    /// The member's answer was broken: invalid, too large, or cut off.
    MemberBroke,
    /// The member's response head did not come in time.
    ResponseTimeout,
    /// The whole-exchange deadline passed before a member could be tried.
    TotalTimeout,
    /// Every member was at its connection limit and the cluster queue was full.
    QueueFull,
    /// Every member stayed at its connection limit for the whole `queue_timeout`.
    QueueTimeout,
}

/// Where in the exchange a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Choosing the route and checking the request head against it.
    Route,
    /// Streaming the client's body to the member.
    RequestBody,
    /// Choosing a member and connecting to it.
    Connect,
    /// Waiting for, or reading, the member's response head.
    ResponseHead,
    /// Streaming the member's body to the client.
    ResponseBody,
}

impl Phase {
    /// The word used for this phase in log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::RequestBody => "request body",
            Self::Connect => "connect",
            Self::ResponseHead => "response head",
            Self::ResponseBody => "response body",
        }
    }
}

/// One request's failure: what and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where in the exchange.
    pub phase: Phase,
}

/// What the proxy answers itself: status and a short text body, sent with [`LOCAL_HEADERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The status line.
    pub status: StatusCode,
    /// A short human-readable body, ending with a newline.
    pub body: &'static str,
}

/// Headers of every answer the proxy makes itself (errors and the health service): plain
/// text, never cached by anything between the proxy and the client.
pub static LOCAL_HEADERS: [(HeaderName, HeaderValue); 2] = [
    (
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    ),
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
];

impl RequestError {
    /// A failure of `kind` in `phase`.
    pub const fn new(kind: ErrorKind, phase: Phase) -> Self {
        Self { kind, phase }
    }

    /// Whether another member may still be tried for this request: only when nothing of it
    /// was sent, so a retry can never deliver a request twice.
    pub fn retryable(self) -> bool {
        matches!(self.kind, ErrorKind::Connect | ErrorKind::ConnectTimeout)
    }

    /// Whether the failure counts against the member (passive health).
    pub fn blames_member(self) -> bool {
        match self.kind {
            ErrorKind::Connect
            | ErrorKind::ConnectTimeout
            | ErrorKind::MemberBroke
            | ErrorKind::ResponseTimeout => true,
            ErrorKind::NotFound
            | ErrorKind::NoRoute
            | ErrorKind::BodyTooLarge
            | ErrorKind::ClientBody
            | ErrorKind::NoMember
            | ErrorKind::MembersExhausted
            | ErrorKind::TotalTimeout
            | ErrorKind::QueueFull
            | ErrorKind::QueueTimeout => false,
        }
    }

    /// The client's answer: the one mapping from failure to status and body.
    pub fn answer(self) -> Answer {
        let (status, body) = match self.kind {
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not found\n"),
            ErrorKind::NoRoute => (StatusCode::NOT_FOUND, "no route\n"),
            ErrorKind::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
            ErrorKind::ClientBody => (StatusCode::BAD_REQUEST, "bad request body\n"),
            ErrorKind::NoMember => (StatusCode::SERVICE_UNAVAILABLE, "no available member\n"),
            ErrorKind::QueueFull => (StatusCode::SERVICE_UNAVAILABLE, "queue full\n"),
            ErrorKind::QueueTimeout => (StatusCode::SERVICE_UNAVAILABLE, "queue timeout\n"),
            ErrorKind::MembersExhausted | ErrorKind::MemberBroke => {
                (StatusCode::BAD_GATEWAY, "bad gateway\n")
            }
            ErrorKind::Connect => (StatusCode::BAD_GATEWAY, "bad gateway (connect)\n"),
            ErrorKind::ConnectTimeout => {
                (StatusCode::GATEWAY_TIMEOUT, "gateway timeout (connect)\n")
            }
            ErrorKind::ResponseTimeout => (StatusCode::GATEWAY_TIMEOUT, "gateway timeout\n"),
            ErrorKind::TotalTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "gateway timeout (request total)\n",
            ),
        };
        Answer { status, body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_before_sending_are_retryable() {
        use ErrorKind::*;
        for kind in [Connect, ConnectTimeout] {
            assert!(
                RequestError::new(kind, Phase::Connect).retryable(),
                "{kind:?}"
            );
        }
        for kind in [
            MemberBroke,
            ResponseTimeout,
            ClientBody,
            BodyTooLarge,
            NoMember,
        ] {
            assert!(
                !RequestError::new(kind, Phase::ResponseHead).retryable(),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn answers_keep_their_codes_and_bodies() {
        let a = |k| RequestError::new(k, Phase::Connect).answer();
        assert_eq!(a(ErrorKind::NoRoute).status, StatusCode::NOT_FOUND);
        assert_eq!(
            a(ErrorKind::NoMember).status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(a(ErrorKind::Connect).body, "bad gateway (connect)\n");
        assert_eq!(
            a(ErrorKind::ConnectTimeout).status,
            StatusCode::GATEWAY_TIMEOUT
        );
        assert_eq!(
            a(ErrorKind::BodyTooLarge).status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(a(ErrorKind::ClientBody).status, StatusCode::BAD_REQUEST);
        assert!(a(ErrorKind::TotalTimeout).body.contains("request total"));
    }
}
