//! The hyper path's side of rewriting: header rules (the cluster's, then the route's) on the
//! forwarded request and on the answer, the route's path prefix rewrite, and redirects
//! answered locally. The decisions and their compiled form are in `elb_proxy_core::rewrite`.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Request, Response, StatusCode, Uri};

use elb_proxy_core::rewrite::{CompiledRedirect, CompiledRules, Origin, Vars, rewrite_prefix};
use elb_proxy_core::{LOCAL_HEADERS, RouteRules};

use crate::body::ResponseBody;
use crate::proxy::ConnCtx;
use crate::trace::RequestTrace;

/// The variables of one request, owned, for the rules of both directions.
#[derive(Debug)]
struct OwnedVars {
    client: SocketAddr,
    request_id: String,
    host: String,
    scheme: String,
    path: String,
    method: String,
}

impl OwnedVars {
    fn vars(&self) -> Vars<'_> {
        Vars {
            client: Some(self.client),
            request_id: &self.request_id,
            host: &self.host,
            scheme: &self.scheme,
            path: &self.path,
            method: &self.method,
        }
    }
}

/// What one request's rewriting needs, made only when its cluster or route has rules.
#[derive(Debug)]
pub(crate) struct RequestRewrite {
    cluster: Option<Arc<CompiledRules>>,
    route: Option<Arc<RouteRules>>,
    vars: OwnedVars,
}

/// The request's one id (see `RequestTrace::request_id`): with `request_id:` configured the
/// id the member gets, else the client's X-Request-Id, else one made up once per request
/// and also logged.
fn request_id_of<B>(req: &Request<B>) -> String {
    if let Some(t) = RequestTrace::of(req) {
        return t.request_id_of(req);
    }
    // No record (a request the log never sees): the same rule, for this one use.
    req.extensions()
        .get::<crate::request_id::RequestId>()
        .map(|id| &id.0)
        .or_else(|| req.headers().get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(crate::trace::new_request_id, str::to_string)
}

fn client_of(ctx: &ConnCtx) -> SocketAddr {
    SocketAddr::new(ctx.fwd.peer, ctx.peer.port())
}

fn scheme_of(ctx: &ConnCtx) -> &str {
    ctx.fwd.proto()
}

impl RequestRewrite {
    /// The rewriting of `req` (routed to cluster `cluster` by a route with `route` rules),
    /// `None` when there is nothing to rewrite.
    pub(crate) fn new<B>(
        ctx: &ConnCtx,
        cluster: Option<&Arc<CompiledRules>>,
        route: Option<&Arc<RouteRules>>,
        host: Option<&HeaderValue>,
        req: &Request<B>,
    ) -> Option<Box<Self>> {
        let route = route.filter(|r| !r.headers.is_empty() || r.rewrite_prefix.is_some());
        if cluster.is_none() && route.is_none() {
            return None;
        }
        let vars = OwnedVars {
            client: client_of(ctx),
            request_id: request_id_of(req),
            host: host
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            scheme: scheme_of(ctx).to_string(),
            path: req.uri().path().to_string(),
            method: req.method().as_str().to_string(),
        };
        Some(Box::new(Self {
            cluster: cluster.cloned(),
            route: route.cloned(),
            vars,
        }))
    }

    /// The forwarded request: prefix rewrite, then the cluster's and the route's rules.
    pub(crate) fn apply_request(&self, parts: &mut Parts) {
        let vars = self.vars.vars();
        if let Some(c) = &self.cluster {
            c.request.apply(&mut parts.headers, &vars);
        }
        let Some(r) = &self.route else {
            return;
        };
        r.headers.request.apply(&mut parts.headers, &vars);
        if let Some((from, to)) = &r.rewrite_prefix {
            let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            if let Some(new) = rewrite_prefix(pq, from, to) {
                if let Ok(uri) = Uri::try_from(new) {
                    parts.uri = uri;
                }
            }
        }
    }

    /// The client's answer: the cluster's, then the route's response rules.
    pub(crate) fn apply_response(&self, headers: &mut HeaderMap) {
        let vars = self.vars.vars();
        if let Some(c) = &self.cluster {
            c.response.apply(headers, &vars);
        }
        if let Some(r) = &self.route {
            r.headers.response.apply(headers, &vars);
        }
    }
}

/// The variables of a forwarded request head (for a mirrored copy's shadow rules); the
/// request id is the configured one (`request_id:`), else the forwarded X-Request-Id, if any.
pub(crate) fn vars_of<'a>(ctx: &'a ConnCtx, parts: &'a Parts) -> Vars<'a> {
    let text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    Vars {
        client: Some(client_of(ctx)),
        request_id: parts
            .extensions
            .get::<crate::request_id::RequestId>()
            .and_then(|id| id.0.to_str().ok())
            .unwrap_or_else(|| text(header::HeaderName::from_static("x-request-id"))),
        host: text(header::HOST),
        scheme: scheme_of(ctx),
        path: parts.uri.path(),
        method: parts.method.as_str(),
    }
}

/// The local answer of a redirect route, with the route's response header rules.
pub(crate) fn redirect_answer<B>(
    ctx: &ConnCtx,
    redirect: &CompiledRedirect,
    rules: &RouteRules,
    host: Option<&HeaderValue>,
    req: &Request<B>,
) -> Response<ResponseBody> {
    let host = host.and_then(|h| h.to_str().ok()).unwrap_or_default();
    let origin = Origin {
        scheme: scheme_of(ctx),
        host,
        path: req.uri().path(),
        query: req.uri().query(),
    };
    let location = redirect.location(&origin);
    let mut r = Response::new(ResponseBody::full(Bytes::new()));
    *r.status_mut() = redirect.status;
    for (name, value) in &LOCAL_HEADERS {
        r.headers_mut().insert(name, value.clone());
    }
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            r.headers_mut().insert(header::LOCATION, v);
        }
        // A Host with bytes a Location cannot carry: the request is refused instead.
        Err(_) => *r.status_mut() = StatusCode::BAD_REQUEST,
    }
    if !rules.headers.response.is_empty() {
        let vars = Vars {
            client: Some(client_of(ctx)),
            host,
            scheme: scheme_of(ctx),
            path: req.uri().path(),
            method: req.method().as_str(),
            request_id: &request_id_of(req),
        };
        rules.headers.response.apply(r.headers_mut(), &vars);
    }
    r
}
