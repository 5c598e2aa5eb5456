//! Header values with variables (`%{client_addr}` …), parsed once at load into literal and
//! variable parts, rendered per request from [`Vars`].

use std::fmt::Write;

/// The variables a header value may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// The client's IP address.
    ClientAddr,
    /// The client's port.
    ClientPort,
    /// The request id (the one passed to members and logged).
    RequestId,
    /// The client's Host (port kept as sent).
    Host,
    /// `http` or `https`.
    Scheme,
    /// The request's path (without the query).
    Path,
    /// The request's method.
    Method,
}

/// Every variable with its name, for parsing and for the error listing them.
const VARS: [(&str, Var); 7] = [
    ("client_addr", Var::ClientAddr),
    ("client_port", Var::ClientPort),
    ("request_id", Var::RequestId),
    ("host", Var::Host),
    ("scheme", Var::Scheme),
    ("path", Var::Path),
    ("method", Var::Method),
];

/// What the variables stand for in one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vars<'a> {
    /// The client's socket address.
    pub client: Option<std::net::SocketAddr>,
    /// The request id.
    pub request_id: &'a str,
    /// The Host the client sent.
    pub host: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The path.
    pub path: &'a str,
    /// The method.
    pub method: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Var),
}

/// A parsed header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a value does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `%{name}` with a name not in the list.
    #[error(
        "unknown variable `%{{{0}}}` (known: client_addr, client_port, request_id, host, scheme, path, method)"
    )]
    Unknown(String),
    /// `%{` without `}`, or a `%` followed by neither `{` nor `%`.
    #[error("`%` must start `%{{name}}` or be doubled as `%%`")]
    Syntax,
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('%') {
            lit.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('%') {
                lit.push('%');
                rest = r;
            } else if let Some(r) = after.strip_prefix('{') {
                let end = r.find('}').ok_or(TemplateError::Syntax)?;
                let name = &r[..end];
                let var = VARS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| TemplateError::Unknown(name.to_string()))?;
                if !lit.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut lit)));
                }
                parts.push(Part::Var(var));
                rest = &r[end + 1..];
            } else {
                return Err(TemplateError::Syntax);
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Self { parts })
    }

    /// Whether the value needs no variable (rendering it is a copy).
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The value for one request.
    pub fn render(&self, vars: &Vars<'_>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => match v {
                    Var::ClientAddr => {
                        if let Some(c) = vars.client {
                            let _ = write!(out, "{}", c.ip());
                        }
                    }
                    Var::ClientPort => {
                        if let Some(c) = vars.client {
                            let _ = write!(out, "{}", c.port());
                        }
                    }
                    Var::RequestId => out.push_str(vars.request_id),
                    Var::Host => out.push_str(vars.host),
                    Var::Scheme => out.push_str(vars.scheme),
                    Var::Path => out.push_str(vars.path),
                    Var::Method => out.push_str(vars.method),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_render_from_the_request() {
        let t =
            Template::parse("%{scheme}://%{host}%{path} from %{client_addr}:%{client_port} 100%%")
                .unwrap();
        let vars = Vars {
            client: Some("198.18.0.7:4242".parse().unwrap()),
            request_id: "r1",
            host: "a.example",
            scheme: "https",
            path: "/x",
            method: "GET",
        };
        assert_eq!(
            t.render(&vars),
            "https://a.example/x from 198.18.0.7:4242 100%"
        );
        assert!(!t.is_literal());
        assert!(Template::parse("plain").unwrap().is_literal());
    }

    #[test]
    fn unknown_variable_and_stray_percent_are_errors() {
        assert_eq!(
            Template::parse("x-%{nope}"),
            Err(TemplateError::Unknown("nope".into()))
        );
        assert_eq!(Template::parse("50%"), Err(TemplateError::Syntax));
        assert_eq!(Template::parse("%{host"), Err(TemplateError::Syntax));
    }
}
