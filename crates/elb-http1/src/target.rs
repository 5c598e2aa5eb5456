//! The four request-target forms of RFC 9112 §3.2 and which method may use
//! which: origin-form for most, absolute-form for any, authority-form only
//! for CONNECT, asterisk-form only for OPTIONS.

use std::ops::Range;

use crate::reject::Reject;
use crate::syntax::{is_target_byte, is_valid_authority};

/// The form of a request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query`.
    Origin,
    /// `http://authority/path?query` (or https).
    Absolute,
    /// `host:port`, CONNECT only.
    Authority,
    /// `*`, OPTIONS only.
    Asterisk,
}

/// Where the parts of a request-target are, as ranges into the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetParts {
    /// Its form.
    pub form: TargetForm,
    /// The authority, for absolute-form and authority-form.
    pub authority: Option<Range<usize>>,
    /// Path and query (empty for authority-form, asterisk-form and an
    /// absolute-form target without a path, which means `/`).
    pub path_and_query: Range<usize>,
}

/// Classifies `target` for `method`, rejecting bytes outside RFC 3986,
/// fragments, schemes other than http/https, userinfo and forms the
/// method may not use.
pub fn classify(method: &[u8], target: &[u8]) -> Result<TargetParts, Reject> {
    let connect = method == b"CONNECT";
    if target == b"*" {
        if method != b"OPTIONS" {
            return Err(Reject::TargetForm);
        }
        return Ok(parts(TargetForm::Asterisk, None, 0..0));
    }
    if target.first() == Some(&b'/') {
        check_path_bytes(target)?;
        if connect {
            return Err(Reject::TargetForm);
        }
        return Ok(parts(TargetForm::Origin, None, 0..target.len()));
    }
    if let Some(after) = scheme_len(target) {
        let rest = &target[after..];
        let end = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.is_empty() || !is_valid_authority(authority) {
            return Err(Reject::Target);
        }
        check_path_bytes(&rest[end..])?;
        if connect {
            return Err(Reject::TargetForm);
        }
        let auth = after..after + end;
        return Ok(parts(
            TargetForm::Absolute,
            Some(auth),
            after + end..target.len(),
        ));
    }
    if !connect {
        return Err(if target.contains(&b':') && is_valid_authority(target) {
            Reject::TargetForm
        } else {
            Reject::Target
        });
    }
    // authority-form = uri-host ":" port, the port required.
    let has_port = target
        .iter()
        .rposition(|&b| b == b':')
        .is_some_and(|i| i + 1 < target.len() && !target[i..].contains(&b']'));
    if !has_port || !is_valid_authority(target) {
        return Err(Reject::Target);
    }
    Ok(parts(TargetForm::Authority, Some(0..target.len()), 0..0))
}

fn parts(form: TargetForm, authority: Option<Range<usize>>, pq: Range<usize>) -> TargetParts {
    TargetParts {
        form,
        authority,
        path_and_query: pq,
    }
}

/// `http://` or `https://`, any case: the length of that prefix.
fn scheme_len(target: &[u8]) -> Option<usize> {
    let lower_prefix =
        |p: &[u8]| target.len() >= p.len() && target[..p.len()].eq_ignore_ascii_case(p);
    if lower_prefix(b"http://") {
        Some(7)
    } else if lower_prefix(b"https://") {
        Some(8)
    } else {
        None
    }
}

/// Path and query bytes: RFC 3986 characters only (so no fragment, no
/// space, no control, no non-ASCII); `%` must start `%HH`.
fn check_path_bytes(pq: &[u8]) -> Result<(), Reject> {
    // Fast scan: most targets have no escape at all.
    let Some(first) = pq.iter().position(|&b| !is_target_byte(b) || b == b'%') else {
        return Ok(());
    };
    let mut i = first;
    while i < pq.len() {
        let b = pq[i];
        if !is_target_byte(b) {
            return Err(Reject::Target);
        }
        if b == b'%' {
            let ok =
                i + 2 < pq.len() && pq[i + 1].is_ascii_hexdigit() && pq[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(Reject::Target);
            }
            i += 3;
            continue;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_follow_the_method() {
        assert_eq!(classify(b"GET", b"/a?b").unwrap().form, TargetForm::Origin);
        let abs = classify(b"GET", b"http://h:1/x?y").unwrap();
        assert_eq!(abs.form, TargetForm::Absolute);
        assert_eq!(abs.authority, Some(7..10));
        assert_eq!(abs.path_and_query, 10..14);
        assert_eq!(
            classify(b"OPTIONS", b"*").unwrap().form,
            TargetForm::Asterisk
        );
        assert_eq!(
            classify(b"CONNECT", b"h:443").unwrap().form,
            TargetForm::Authority
        );
        assert_eq!(classify(b"GET", b"*"), Err(Reject::TargetForm));
        assert_eq!(classify(b"GET", b"h:443"), Err(Reject::TargetForm));
        assert_eq!(classify(b"CONNECT", b"/"), Err(Reject::TargetForm));
        assert_eq!(classify(b"CONNECT", b"h"), Err(Reject::Target));
        assert_eq!(classify(b"CONNECT", b"[::1]"), Err(Reject::Target));
        assert!(classify(b"CONNECT", b"[::1]:443").is_ok());
    }

    #[test]
    fn bad_bytes_fragments_userinfo_and_schemes_are_refused() {
        for bad in [
            &b"/a#f"[..],
            b"/a b",
            b"/a\"b",
            b"/a{b}",
            b"/%zz",
            b"/%4",
            b"/\x80",
            b"http://u@h/",
            b"http:///x",
            b"ftp://h/",
            b"a",
        ] {
            assert!(classify(b"GET", bad).is_err(), "{bad:?}");
        }
    }
}
