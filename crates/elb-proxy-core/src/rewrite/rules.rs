//! Header rules compiled once per config: names parsed, values parsed into templates, the
//! framing and hop-by-hop headers refused (the proxy owns them). Applied per request to a
//! `HeaderMap`, in the order remove, set, add; a cluster's rules before a route's.

use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::template::{Template, TemplateError, Vars};
use crate::config::{HeaderOps, HeaderRules};

/// Headers no rule may touch: framing, hop-by-hop, and Host (set with `rewrite_host`).
const PROTECTED: [&str; 12] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "host",
    "http2-settings",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// Not a header name.
    #[error("invalid header name `{0}`")]
    Name(String),
    /// A header the proxy manages itself.
    #[error(
        "header `{0}` is managed by the proxy (framing, hop-by-hop or Host) and may not be changed by a rule{hint}",
        hint = if .0.eq_ignore_ascii_case("host") { "; use the route's rewrite_host" } else { "" }
    )]
    Protected(String),
    /// A value that does not parse.
    #[error("header `{name}`: {error}")]
    Value {
        /// The header.
        name: String,
        /// What is wrong with the value.
        error: TemplateError,
    },
    /// A literal value that is not a valid header value.
    #[error("header `{0}`: value is not a valid header value")]
    BadValue(String),
}

impl RuleError {
    /// The text a config line holds for this error (header name or value), to locate it.
    pub fn needle(&self) -> String {
        match self {
            Self::Name(n) | Self::Protected(n) | Self::BadValue(n) => n.clone(),
            Self::Value {
                error: TemplateError::Unknown(v),
                ..
            } => format!("%{{{v}}}"),
            Self::Value { name, .. } => name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Op {
    name: HeaderName,
    value: Template,
    /// The value when it has no variable.
    fixed: Option<HeaderValue>,
}

/// One direction's compiled operations.
#[derive(Debug, Clone, Default)]
pub struct CompiledOps {
    remove: Vec<HeaderName>,
    set: Vec<Op>,
    add: Vec<Op>,
}

/// Both directions of one cluster's or route's rules.
#[derive(Debug, Clone, Default)]
pub struct CompiledRules {
    /// Toward the member.
    pub request: CompiledOps,
    /// Toward the client.
    pub response: CompiledOps,
}

fn name_of(n: &str) -> Result<HeaderName, RuleError> {
    let name = HeaderName::from_bytes(n.as_bytes()).map_err(|_| RuleError::Name(n.into()))?;
    if PROTECTED.contains(&name.as_str()) {
        return Err(RuleError::Protected(n.into()));
    }
    Ok(name)
}

fn op(n: &str, v: &str) -> Result<Op, RuleError> {
    let name = name_of(n)?;
    let value = Template::parse(v).map_err(|error| RuleError::Value {
        name: n.into(),
        error,
    })?;
    let fixed = if value.is_literal() {
        Some(
            HeaderValue::from_str(&value.render(&Vars::default()))
                .map_err(|_| RuleError::BadValue(v.into()))?,
        )
    } else {
        None
    };
    Ok(Op { name, value, fixed })
}

impl CompiledOps {
    /// Compiles one direction's operations.
    pub fn compile(ops: &HeaderOps) -> Result<Self, RuleError> {
        Ok(Self {
            remove: ops
                .remove
                .iter()
                .map(|n| name_of(n))
                .collect::<Result<_, _>>()?,
            set: ops
                .set
                .iter()
                .map(|(n, v)| op(n, v))
                .collect::<Result<_, _>>()?,
            add: ops
                .add
                .iter()
                .map(|(n, v)| op(n, v))
                .collect::<Result<_, _>>()?,
        })
    }

    /// No operation.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }

    /// Applies the operations: remove, then set, then add. A rendered value that is not a
    /// valid header value (a variable with control bytes) is left out.
    pub fn apply(&self, headers: &mut HeaderMap, vars: &Vars<'_>) {
        for n in &self.remove {
            headers.remove(n);
        }
        for o in &self.set {
            if let Some(v) = o.value_for(vars) {
                headers.insert(o.name.clone(), v);
            }
        }
        for o in &self.add {
            if let Some(v) = o.value_for(vars) {
                headers.append(o.name.clone(), v);
            }
        }
    }
}

impl Op {
    fn value_for(&self, vars: &Vars<'_>) -> Option<HeaderValue> {
        match &self.fixed {
            Some(v) => Some(v.clone()),
            None => HeaderValue::from_str(&self.value.render(vars)).ok(),
        }
    }
}

impl CompiledRules {
    /// Compiles both directions.
    pub fn compile(rules: &HeaderRules) -> Result<Self, RuleError> {
        Ok(Self {
            request: CompiledOps::compile(&rules.request)?,
            response: CompiledOps::compile(&rules.response)?,
        })
    }

    /// No rule in either direction.
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(yaml: &str) -> Result<CompiledOps, RuleError> {
        let o: HeaderOps = serde_yaml::from_str(yaml).unwrap();
        CompiledOps::compile(&o)
    }

    #[test]
    fn remove_then_set_then_add() {
        let o = ops("{ remove: [x-a], set: { x-b: \"v-%{scheme}\" }, add: { x-a: new, x-c: c } }")
            .unwrap();
        let mut h = HeaderMap::new();
        h.append("x-a", HeaderValue::from_static("old"));
        h.append("x-b", HeaderValue::from_static("1"));
        h.append("x-b", HeaderValue::from_static("2"));
        h.append("x-c", HeaderValue::from_static("kept"));
        let vars = Vars {
            scheme: "https",
            ..Vars::default()
        };
        o.apply(&mut h, &vars);
        assert_eq!(h.get_all("x-a").iter().collect::<Vec<_>>(), ["new"]);
        assert_eq!(h.get_all("x-b").iter().collect::<Vec<_>>(), ["v-https"]);
        assert_eq!(h.get_all("x-c").iter().collect::<Vec<_>>(), ["kept", "c"]);
    }

    #[test]
    fn framing_hop_by_hop_and_host_are_refused() {
        for n in [
            "Content-Length",
            "transfer-encoding",
            "Connection",
            "host",
            "TE",
        ] {
            let e = ops(&format!("{{ remove: [{n}] }}")).unwrap_err();
            assert!(matches!(e, RuleError::Protected(_)), "{n}: {e}");
            let e = ops(&format!("{{ set: {{ {n}: x }} }}")).unwrap_err();
            assert!(matches!(e, RuleError::Protected(_)), "{n}: {e}");
        }
        assert!(ops("{ add: { set-cookie: a=b } }").is_ok());
    }

    #[test]
    fn unknown_variable_is_named() {
        let e = ops("{ add: { x-a: \"%{nope}\" } }").unwrap_err();
        assert_eq!(e.needle(), "%{nope}");
        assert!(e.to_string().contains("unknown variable `%{nope}`"), "{e}");
    }
}
