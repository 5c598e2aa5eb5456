//! Path normalisation before route matching (RFC 3986 §6.2.2): `/%61pi`
//! and `/api/../x` must match routes as `/api` and `/x` do, or a route
//! rule is bypassed. The query is left as it came.

use crate::reject::Reject;
use crate::syntax::is_unreserved;

/// What to do with `%2F` and `%5C`, which decode to a separator (or what
/// some members treat as one) and so change the path's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodedSlash {
    /// Leave them encoded: data, not separators (RFC 3986).
    #[default]
    Keep,
    /// Refuse the request (400).
    Reject,
    /// Decode them, so they become separators before dot segments go.
    Decode,
}

/// How to normalise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathOptions {
    /// Merge runs of `/` into one.
    pub merge_slashes: bool,
    /// `%2F` / `%5C` policy.
    pub encoded_slash: EncodedSlash,
}

/// Writes the normalised form of `path_and_query` (an origin-form target,
/// or the path of an absolute-form one; empty means `/`) into `out`,
/// which is cleared first and can be reused across requests.
///
/// Percent-encoded unreserved characters are decoded, other escapes kept
/// with upper-case hex, dot segments removed (RFC 3986 §5.2.4), slashes
/// merged if asked. A malformed escape is `Reject::Target`.
pub fn normalize_path(
    path_and_query: &[u8],
    opts: &PathOptions,
    out: &mut Vec<u8>,
) -> Result<(), Reject> {
    out.clear();
    let (path, query) = match path_and_query.iter().position(|&b| b == b'?') {
        Some(q) => path_and_query.split_at(q),
        None => (path_and_query, &b""[..]),
    };
    if path.is_empty() {
        out.push(b'/');
    } else if path[0] != b'/' {
        return Err(Reject::Target);
    }
    decode_unreserved(path, opts.encoded_slash, out)?;
    remove_dot_segments(out, opts.merge_slashes);
    out.extend_from_slice(query);
    Ok(())
}

/// Appends `path` to `out`, decoding escapes of unreserved bytes.
fn decode_unreserved(path: &[u8], slash: EncodedSlash, out: &mut Vec<u8>) -> Result<(), Reject> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let (Some(&h), Some(&l)) = (path.get(i + 1), path.get(i + 2)) else {
            return Err(Reject::Target);
        };
        let (Some(h), Some(l)) = (hex(h), hex(l)) else {
            return Err(Reject::Target);
        };
        let c = h << 4 | l;
        match c {
            b'/' | b'\\' if slash == EncodedSlash::Reject => return Err(Reject::EncodedSlash),
            b'/' | b'\\' if slash == EncodedSlash::Decode => out.push(c),
            _ if is_unreserved(c) => out.push(c),
            _ => out.extend_from_slice(&[b'%', HEX[usize::from(h)], HEX[usize::from(l)]]),
        }
        i += 3;
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 3986 §5.2.4 in place on an absolute path (starts with `/`): each
/// segment is copied down unless it is `.` or `..` (which drops the last
/// written one); the output never outgrows the input, so one buffer does.
fn remove_dot_segments(p: &mut Vec<u8>, merge_slashes: bool) {
    let n = p.len();
    let mut w = 0;
    let mut r = 0;
    while r < n {
        let start = r + 1;
        let end = p[start.min(n)..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(n, |i| start + i);
        let last = end == n;
        let seg_len = end.saturating_sub(start);
        let is_dot = seg_len == 1 && p[start] == b'.';
        let is_dotdot = seg_len == 2 && p[start] == b'.' && p[start + 1] == b'.';
        if is_dot || is_dotdot {
            if is_dotdot {
                w = p[..w].iter().rposition(|&b| b == b'/').unwrap_or(0);
            }
            if last {
                p[w] = b'/';
                w += 1;
            }
        } else if !(seg_len == 0 && merge_slashes && !last) {
            p[w] = b'/';
            p.copy_within(start..end, w + 1);
            w += 1 + seg_len;
        }
        r = end;
    }
    p.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str, opts: PathOptions) -> Result<String, Reject> {
        let mut out = Vec::new();
        normalize_path(p.as_bytes(), &opts, &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn unreserved_escapes_decode_and_others_stay() {
        let o = PathOptions::default();
        assert_eq!(norm("/%61pi/v1", o).unwrap(), "/api/v1");
        assert_eq!(norm("/a%2fb%3a", o).unwrap(), "/a%2Fb%3A");
        assert_eq!(norm("/%7e%2D%5f", o).unwrap(), "/~-_");
        assert_eq!(norm("/a?%61=../x", o).unwrap(), "/a?%61=../x");
        assert_eq!(norm("", o).unwrap(), "/");
        assert_eq!(norm("?q", o).unwrap(), "/?q");
    }

    #[test]
    fn dot_segments_go_as_rfc3986_says() {
        let o = PathOptions::default();
        for (i, want) in [
            ("/api/../x", "/x"),
            ("/a/b/c/./../../g", "/a/g"),
            ("/..", "/"),
            ("/../../a", "/a"),
            ("/a/.", "/a/"),
            ("/a/..", "/"),
            ("/a/./b/", "/a/b/"),
            ("/%2e%2e/etc", "/etc"),
            ("/a/%2E/b", "/a/b"),
            ("/a//../b", "/a/b"),
            ("/.hidden/..x", "/.hidden/..x"),
            ("/", "/"),
        ] {
            assert_eq!(norm(i, o).unwrap(), want, "{i}");
        }
    }

    #[test]
    fn slashes_merge_only_when_asked() {
        let keep = PathOptions::default();
        let merge = PathOptions {
            merge_slashes: true,
            ..keep
        };
        assert_eq!(norm("//a///b//", keep).unwrap(), "//a///b//");
        assert_eq!(norm("//a///b//", merge).unwrap(), "/a/b/");
    }

    #[test]
    fn encoded_slash_policy_and_bad_escapes() {
        let reject = PathOptions {
            encoded_slash: EncodedSlash::Reject,
            ..Default::default()
        };
        let decode = PathOptions {
            encoded_slash: EncodedSlash::Decode,
            ..Default::default()
        };
        assert_eq!(norm("/a%2Fb", reject), Err(Reject::EncodedSlash));
        assert_eq!(norm("/a%5cb", reject), Err(Reject::EncodedSlash));
        assert_eq!(norm("/api%2F..%2Fadmin", decode).unwrap(), "/admin");
        for bad in ["/%", "/%4", "/%zz", "/%4g", "a"] {
            assert_eq!(
                norm(bad, PathOptions::default()),
                Err(Reject::Target),
                "{bad}"
            );
        }
    }
}
