//! Why a request head was refused: one reason per rule, so the proxy can
//! count rejections by reason and answer the client with the right status.

/// A request the codec refuses. Each variant names the rule it broke;
/// [`Reject::status`] is the answer owed to the client and
/// [`Reject::as_str`] a stable label for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Reject {
    /// The request line is not `method SP target SP HTTP-version`.
    #[error("malformed request line")]
    RequestLine,
    /// The method is not a token.
    #[error("invalid method")]
    Method,
    /// The version is not HTTP/1.0 or HTTP/1.1.
    #[error("unsupported HTTP version")]
    Version,
    /// The request-target has a byte RFC 3986 does not allow, or a fragment.
    #[error("invalid request-target")]
    Target,
    /// The request-target form does not fit the method (authority-form
    /// outside CONNECT, `*` outside OPTIONS, CONNECT without authority-form).
    #[error("request-target form does not fit the method")]
    TargetForm,
    /// The request-target is longer than the configured limit.
    #[error("request-target too long")]
    TargetTooLong,
    /// A header name is empty or not a token, or has space before the colon.
    #[error("invalid header name")]
    HeaderName,
    /// A header value has a control character.
    #[error("invalid header value")]
    HeaderValue,
    /// A header line continues on the next line (obs-fold).
    #[error("obsolete line folding")]
    ObsFold,
    /// A line ends in a bare LF or a bare CR.
    #[error("line not ended by CRLF")]
    BareLineEnd,
    /// A header name carries an underscore and the policy is to reject.
    #[error("underscore in header name")]
    Underscore,
    /// More header fields than the configured limit.
    #[error("too many header fields")]
    TooManyHeaders,
    /// The head is larger than the configured limit.
    #[error("request head too large")]
    HeadTooLarge,
    /// HTTP/1.1 without a Host field.
    #[error("missing Host")]
    MissingHost,
    /// More than one Host field.
    #[error("several Host fields")]
    DuplicateHost,
    /// The Host value is not `host [ ":" port ]`.
    #[error("invalid Host")]
    InvalidHost,
    /// An absolute-form target whose authority disagrees with Host, when the
    /// policy rejects rather than letting the target's authority win.
    #[error("Host disagrees with the target's authority")]
    HostMismatch,
    /// Content-Length is not 1*DIGIT, or does not fit in 64 bits.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// More than one Content-Length (field or list member).
    #[error("several Content-Length values")]
    DuplicateContentLength,
    /// Both Content-Length and Transfer-Encoding: the classic desync.
    #[error("Content-Length with Transfer-Encoding")]
    LengthAndChunked,
    /// Transfer-Encoding whose final coding is not chunked, or chunked twice.
    #[error("Transfer-Encoding not ending in a single chunked")]
    InvalidTransferEncoding,
    /// A transfer coding other than chunked (RFC 9112 §6.1: 501).
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// Transfer-Encoding on an HTTP/1.0 request (RFC 9112 §6.1: faulty framing).
    #[error("Transfer-Encoding on HTTP/1.0")]
    TransferEncodingOnHttp10,
    /// Expect with anything but 100-continue.
    #[error("unsupported expectation")]
    Expectation,
    /// `%2F` or `%5C` in the path when the policy refuses them.
    #[error("encoded slash in the path")]
    EncodedSlash,
}

impl Reject {
    /// The status the client gets (RFC 9110 §15): 400 for malformed or
    /// ambiguous requests, 414/431 for limits, 417, 501 and 505.
    pub fn status(self) -> u16 {
        match self {
            Reject::TargetTooLong => 414,
            Reject::TooManyHeaders | Reject::HeadTooLarge => 431,
            Reject::Expectation => 417,
            Reject::UnsupportedTransferCoding => 501,
            Reject::Version => 505,
            _ => 400,
        }
    }

    /// A stable snake_case label, for a metric's `reason` and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::RequestLine => "request_line",
            Reject::Method => "method",
            Reject::Version => "version",
            Reject::Target => "target",
            Reject::TargetForm => "target_form",
            Reject::TargetTooLong => "target_too_long",
            Reject::HeaderName => "header_name",
            Reject::HeaderValue => "header_value",
            Reject::ObsFold => "obs_fold",
            Reject::BareLineEnd => "bare_line_end",
            Reject::Underscore => "underscore",
            Reject::TooManyHeaders => "too_many_headers",
            Reject::HeadTooLarge => "head_too_large",
            Reject::MissingHost => "missing_host",
            Reject::DuplicateHost => "duplicate_host",
            Reject::InvalidHost => "invalid_host",
            Reject::HostMismatch => "host_mismatch",
            Reject::InvalidContentLength => "invalid_content_length",
            Reject::DuplicateContentLength => "duplicate_content_length",
            Reject::LengthAndChunked => "length_and_chunked",
            Reject::InvalidTransferEncoding => "invalid_transfer_encoding",
            Reject::UnsupportedTransferCoding => "unsupported_transfer_coding",
            Reject::TransferEncodingOnHttp10 => "transfer_encoding_on_http10",
            Reject::Expectation => "expectation",
            Reject::EncodedSlash => "encoded_slash",
        }
    }

    /// Every reason, for metrics that pre-register one counter per label.
    pub const ALL: [Reject; 25] = [
        Reject::RequestLine,
        Reject::Method,
        Reject::Version,
        Reject::Target,
        Reject::TargetForm,
        Reject::TargetTooLong,
        Reject::HeaderName,
        Reject::HeaderValue,
        Reject::ObsFold,
        Reject::BareLineEnd,
        Reject::Underscore,
        Reject::TooManyHeaders,
        Reject::HeadTooLarge,
        Reject::MissingHost,
        Reject::DuplicateHost,
        Reject::InvalidHost,
        Reject::HostMismatch,
        Reject::InvalidContentLength,
        Reject::DuplicateContentLength,
        Reject::LengthAndChunked,
        Reject::InvalidTransferEncoding,
        Reject::UnsupportedTransferCoding,
        Reject::TransferEncodingOnHttp10,
        Reject::Expectation,
        Reject::EncodedSlash,
    ];
}

#[cfg(test)]
mod tests {
    use super::Reject;

    #[test]
    fn labels_are_unique_and_statuses_are_client_errors_or_505_501() {
        let mut labels: Vec<_> = Reject::ALL.iter().map(|r| r.as_str()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), Reject::ALL.len());
        for r in Reject::ALL {
            assert!(matches!(r.status(), 400..=499 | 501 | 505), "{r:?}");
        }
    }
}
