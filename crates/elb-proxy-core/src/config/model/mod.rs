//! The YAML schema of elb-proxy, as serde structs. Every struct denies unknown fields so a
//! typo is an error naming the field; every optional setting has its default here, so the
//! rest of the proxy never guesses. `docs/elb-proxy.md` documents each field.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::units::{Dur, Size};

mod client_auth;
mod cluster;
mod member_tls;
pub use client_auth::*;
pub use cluster::*;
mod names;
pub use names::*;
mod request_id;
pub use member_tls::MemberTls;
pub use request_id::*;
mod rewrite;
pub use rewrite::*;
mod hashing;
pub use hashing::*;
mod traffic_policy;
pub use traffic_policy::*;

/// The whole file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tokio worker threads; 1 runs a single-threaded runtime (the benchmark setting),
    /// 0 means one per CPU.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// Where clients connect.
    pub listeners: Vec<Listener>,
    /// The proxy's own health service (`/services/EchoProxy`, the endpoint elb-check probes).
    #[serde(default)]
    pub health: HealthService,
    /// Groups of equivalent members that routes send requests to.
    pub clusters: Vec<Cluster>,
    /// Ordered routing rules; the first match wins.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Cluster for requests that match no route; absent means 404.
    #[serde(default)]
    pub default_cluster: Option<String>,
    #[serde(default)]
    /// Timeouts toward clients and members.
    pub timeouts: Timeouts,
    #[serde(default)]
    /// Size and count limits (connections, heads, bodies, HTTP/2).
    pub limits: Limits,
    /// Peers whose X-Forwarded-For / Forwarded headers are kept and appended to; from any
    /// other peer those headers are replaced, so a client cannot forge its address.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Forwarding headers added to requests going upstream.
    #[serde(default = "default_forward_headers")]
    pub forward_headers: Vec<ForwardHeader>,
    #[serde(default)]
    /// The admin socket; off unless set.
    pub admin: Option<Admin>,
    /// Unix socket on which a new elb-proxy process takes over the listening sockets
    /// (upgrade without a failover); off unless set.
    #[serde(default)]
    pub upgrade_socket: Option<PathBuf>,
    #[serde(default)]
    /// The Prometheus endpoint; off unless set.
    pub metrics: Option<Metrics>,
    /// One line per request; off unless set.
    #[serde(default)]
    pub access_log: Option<AccessLog>,
    /// Tell vrrpd about draining, so the VIP moves before listeners close; off unless set.
    #[serde(default)]
    pub vrrpd: Option<VrrpdPush>,
    #[serde(default)]
    /// How SIGTERM drains the proxy.
    pub shutdown: Shutdown,
    /// DNS servers and intervals for members given by name; the system's by default.
    #[serde(default)]
    pub resolvers: Resolvers,
    /// Request ids made and passed to members; off unless set.
    #[serde(default)]
    pub request_id: Option<RequestId>,
}

fn default_workers() -> usize {
    0
}

/// A forwarding header the proxy can add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum ForwardHeader {
    #[serde(rename = "x-forwarded-for")]
    /// `X-Forwarded-For`: the client address.
    XForwardedFor,
    #[serde(rename = "x-forwarded-proto")]
    /// `X-Forwarded-Proto`: `http` or `https`.
    XForwardedProto,
    #[serde(rename = "x-forwarded-host")]
    /// `X-Forwarded-Host`: the client's Host.
    XForwardedHost,
    /// RFC 7239 `Forwarded`.
    #[serde(rename = "forwarded")]
    Forwarded,
}

fn default_forward_headers() -> Vec<ForwardHeader> {
    vec![
        ForwardHeader::XForwardedFor,
        ForwardHeader::XForwardedProto,
        ForwardHeader::XForwardedHost,
        ForwardHeader::Forwarded,
    ]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A client-facing listening address.
pub struct Listener {
    /// Name used in metrics and `show stat`; defaults to the address.
    #[serde(default)]
    pub name: Option<String>,
    /// Address and port to listen on.
    pub address: SocketAddr,
    /// TLS termination; absent means plain HTTP (HTTP/1.1 and h2c prior knowledge).
    #[serde(default)]
    pub tls: Option<Tls>,
    /// Per-listener connection cap (the global one in `limits` applies as well).
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Also accept HTTP/2 with prior knowledge (h2c) on a plain listener. Off by default:
    /// a plain HTTP/1.1-only connection is smaller and cheaper.
    #[serde(default)]
    pub h2c: bool,
    /// Header names with an underscore: `drop` (default, as nginx and Envoy), `reject`
    /// (400) or `allow`. A CGI/WSGI member reads `X_Forwarded_For` as `X-Forwarded-For`.
    #[serde(default)]
    pub underscores_in_headers: UnderscorePolicy,
    /// Members get the normalised path (default) or the path as the client sent it; routes
    /// always match the normalised one.
    #[serde(default = "default_true")]
    pub normalize_path: bool,
    /// Merge runs of `/` in the path before routing (and, with `normalize_path`, forwarding).
    #[serde(default)]
    pub merge_slashes: bool,
    /// Limits per client address on this listener (besides `limits.per_client`).
    #[serde(default)]
    pub per_client: ClientLimits,
    /// Every connection starts with a PROXY protocol header (v1 or v2) naming the client;
    /// only peers in `trusted_proxies` may connect.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// What serves plain HTTP/1.1 on this listener: `fast` (elb-proxy's own HTTP/1.1 path)
    /// or `hyper`; unset, `fast` (the environment's `ELB_PROXY_ENGINE=hyper` says `hyper`).
    #[serde(default)]
    pub engine: Option<Engine>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Limits per client address; zero means no limit.
pub struct ClientLimits {
    /// Sustained requests per second (token bucket); over it the answer is 429.
    #[serde(default)]
    pub requests_per_second: f64,
    /// Requests at once after a quiet period; defaults to one second's worth.
    #[serde(default)]
    pub burst: Option<u32>,
    /// Open connections; a connection over it is closed at once.
    #[serde(default)]
    pub max_connections: u32,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
/// A PROXY protocol version.
pub enum ProxyProtocolVersion {
    /// The text line.
    V1,
    /// The binary header.
    V2,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
/// What a listener does with a client header name that has an underscore.
pub enum UnderscorePolicy {
    /// Not forwarded.
    #[default]
    Drop,
    /// The request is answered 400.
    Reject,
    /// Forwarded as received.
    Allow,
}

/// The HTTP/1.1 engine of a plain listener (TLS and h2c listeners always use hyper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// elb-proxy's own HTTP/1.1 path (elb-http1): one task per connection, pooled sockets.
    Fast,
    /// hyper's HTTP/1.1 server and client.
    Hyper,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// TLS termination on a listener.
pub struct Tls {
    /// One or more certificates; the client's SNI picks one by the names in the certificate
    /// (or `server_names`); the first one is used when SNI is absent or matches none.
    pub certificates: Vec<Certificate>,
    /// ALPN protocols offered, in preference order.
    #[serde(default = "default_alpn")]
    pub alpn: Vec<String>,
    /// A certificate whose chain expires within this window is warned about at start and
    /// reload and listed in `show info`.
    #[serde(default = "default_expiry_warning")]
    pub expiry_warning: Dur,
    /// Verify client certificates against a CA; absent: none are asked for.
    #[serde(default)]
    pub client_auth: Option<ClientAuth>,
}

fn default_expiry_warning() -> Dur {
    Dur(std::time::Duration::from_secs(30 * 86400))
}

fn default_alpn() -> Vec<String> {
    vec!["h2".into(), "http/1.1".into()]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// One certificate and its key.
pub struct Certificate {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// SNI names served by this certificate; defaults to the certificate's DNS SANs.
    #[serde(default)]
    pub server_names: Vec<String>,
    /// PEM file of the CA certificates the chain must verify to, when the chain file does
    /// not end at its root and no public root issued it.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// DER OCSP response stapled to handshakes (HAProxy's `.ocsp` file), read at start and
    /// at each reload; the operator refreshes it (e.g. with `openssl ocsp`) and reloads.
    #[serde(default)]
    pub ocsp_response: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// The proxy's own health endpoint, which elb-check and vrrpd probe.
pub struct HealthService {
    /// Path answered by the proxy itself on every listener (and on `address`).
    #[serde(default = "default_health_path")]
    pub path: String,
    /// Optional dedicated plain-HTTP port for the health service only.
    #[serde(default)]
    pub address: Option<SocketAddr>,
    /// Clusters that must have a healthy member for the health service to answer 200.
    #[serde(default)]
    pub must_be_up: Vec<String>,
}

impl Default for HealthService {
    fn default() -> Self {
        Self {
            path: default_health_path(),
            address: None,
            must_be_up: Vec::new(),
        }
    }
}

fn default_health_path() -> String {
    "/services/EchoProxy".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A routing rule.
pub struct Route {
    /// Name used in logs; defaults to `route#N`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "match", default)]
    /// Conditions that must all hold.
    pub matches: RouteMatch,
    /// Cluster that serves matching requests (empty with `split` or `redirect`).
    #[serde(default)]
    pub cluster: String,
    /// Replace the Host header sent upstream.
    #[serde(default)]
    pub rewrite_host: Option<String>,
    /// Largest request body accepted on this route (413 beyond); defaults to `limits.max_body`.
    #[serde(default)]
    pub max_body: Option<Size>,
    /// Total time for a request on this route; overrides `timeouts.request_total`.
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Request rate per client address on this route (`max_connections` is refused here:
    /// connections are not per route).
    #[serde(default)]
    pub per_client: ClientLimits,
    /// Header rules of this route (after the cluster's).
    #[serde(default)]
    pub headers: HeaderRules,
    /// Replace the matched `path_prefix` by this before forwarding.
    #[serde(default)]
    pub rewrite_prefix: Option<String>,
    /// Answer with a redirect instead of forwarding.
    #[serde(default)]
    pub redirect: Option<Redirect>,
    /// Spread requests over several clusters by weight (instead of `cluster`).
    #[serde(default)]
    pub split: Vec<SplitTarget>,
    /// Copy requests to a shadow cluster.
    #[serde(default)]
    pub mirror: Option<Mirror>,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
/// The conditions of a route; absent ones always hold.
pub struct RouteMatch {
    /// Exact host (`api.example.com`) or wildcard (`*.example.com`); port ignored; any case.
    #[serde(default)]
    pub host: Option<String>,
    /// Path prefix on segment boundaries is NOT required: `/api` matches `/api2` too
    /// (as HAProxy's `path_beg`); write `/api/` to require the slash.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Exact path (query string excluded).
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    /// Exact method (`GET`, `POST`, ...).
    pub method: Option<String>,
    #[serde(default)]
    /// A header that must be present (with a value, if given).
    pub header: Option<HeaderMatch>,
    /// Regex the path must match (unanchored: use `^…$`); compiled once at load.
    #[serde(default)]
    pub path_regex: Option<String>,
    /// One of these methods.
    #[serde(default)]
    pub methods: Vec<String>,
    /// A query parameter that must be present (with a value, if given).
    #[serde(default)]
    pub query: Option<QueryMatch>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// A header condition.
pub struct HeaderMatch {
    /// Header name (any case).
    pub name: String,
    /// Exact value; absent means the header only has to be present.
    #[serde(default)]
    pub value: Option<String>,
    /// Regex a value must match (unanchored: use `^…$`).
    #[serde(default)]
    pub value_regex: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Timeouts toward clients and members.
pub struct Timeouts {
    /// TCP connect to a member.
    #[serde(default = "d_connect")]
    pub connect: Dur,
    /// Whole request head from the client (slowloris guard); also bounds idle keep-alive
    /// waits between requests, since hyper starts this timer when it waits for a new head.
    #[serde(default = "d_header")]
    pub request_header: Dur,
    /// Member's response head after the request was sent (504 beyond).
    #[serde(default = "d_upstream")]
    pub upstream_response: Dur,
    /// Idle pooled upstream connections are closed after this.
    #[serde(default = "d_pool_idle")]
    pub upstream_idle: Dur,
    /// A WebSocket / Upgrade tunnel with no byte moving either way this long is closed.
    #[serde(default = "d_tunnel")]
    pub tunnel_idle: Dur,
    /// Whole exchange, from the request head to the last byte of the answer; 0 = off. No
    /// response head in time gives 504; a body still streaming at the deadline is cut.
    /// Routes may set their own `timeout`.
    #[serde(default)]
    pub request_total: Dur,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: d_connect(),
            request_header: d_header(),
            upstream_response: d_upstream(),
            upstream_idle: d_pool_idle(),
            tunnel_idle: d_tunnel(),
            request_total: Dur::default(),
        }
    }
}

fn d_connect() -> Dur {
    Dur(Duration::from_secs(2))
}
fn d_header() -> Dur {
    Dur(Duration::from_secs(10))
}
fn d_upstream() -> Dur {
    Dur(Duration::from_secs(60))
}
fn d_pool_idle() -> Dur {
    Dur(Duration::from_secs(60))
}
fn d_tunnel() -> Dur {
    Dur(Duration::from_secs(300))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Size and count limits.
pub struct Limits {
    /// Client connections across all listeners; beyond it new connections are closed at once.
    #[serde(default = "l_conns")]
    pub max_connections: usize,
    /// Bytes of a request head (431 beyond).
    #[serde(default = "l_header_bytes")]
    pub max_header_bytes: Size,
    /// Number of request header fields (431 beyond).
    #[serde(default = "l_headers")]
    pub max_headers: usize,
    /// Default request body limit (413 beyond); 0 means unlimited.
    #[serde(default)]
    pub max_body: Size,
    #[serde(default = "l_h2_streams")]
    /// Concurrent streams per HTTP/2 client connection.
    pub h2_max_concurrent_streams: u32,
    /// Streams a client may reset before we accept them (rapid reset guard).
    #[serde(default = "l_h2_pending_resets")]
    pub h2_max_pending_accept_reset_streams: usize,
    /// Streams we may reset for protocol errors before GOAWAY (MadeYouReset guard).
    #[serde(default = "l_h2_local_resets")]
    pub h2_max_local_error_reset_streams: usize,
    #[serde(default = "l_h2_header_list")]
    /// Largest HTTP/2 header list a client may send.
    pub h2_max_header_list_size: Size,
    /// Limits per client address across all listeners.
    #[serde(default)]
    pub per_client: ClientLimits,
    /// Clients remembered for the per-client limits at most (all scopes together).
    #[serde(default = "l_client_table")]
    pub client_table_size: usize,
}

fn l_client_table() -> usize {
    65_536
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: l_conns(),
            max_header_bytes: l_header_bytes(),
            max_headers: l_headers(),
            max_body: Size(0),
            h2_max_concurrent_streams: l_h2_streams(),
            h2_max_pending_accept_reset_streams: l_h2_pending_resets(),
            h2_max_local_error_reset_streams: l_h2_local_resets(),
            h2_max_header_list_size: l_h2_header_list(),
            per_client: ClientLimits::default(),
            client_table_size: l_client_table(),
        }
    }
}

fn l_conns() -> usize {
    20_000
}
fn l_header_bytes() -> Size {
    Size(64 * 1024)
}
fn l_headers() -> usize {
    100
}
fn l_h2_streams() -> u32 {
    100
}
fn l_h2_pending_resets() -> usize {
    20
}
fn l_h2_local_resets() -> usize {
    1024
}
fn l_h2_header_list() -> Size {
    Size(64 * 1024)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// The admin socket.
pub struct Admin {
    /// Path of the Unix socket.
    pub socket: PathBuf,
    /// File mode of the socket, octal as a string (`"0600"`) or number.
    #[serde(default = "default_mode")]
    pub mode: String,
}

fn default_mode() -> String {
    "0600".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// The Prometheus endpoint.
pub struct Metrics {
    /// Plain-HTTP address serving Prometheus text at `/metrics`.
    pub address: SocketAddr,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// The access log.
pub struct AccessLog {
    /// A file path, or `stderr`.
    pub path: PathBuf,
    /// Line format.
    #[serde(default)]
    pub format: AccessLogFormat,
    /// With `format: template`: text with `{field}` placeholders.
    #[serde(default)]
    pub template: Option<String>,
    /// Lines queued for the writer at most; beyond, lines are dropped and counted.
    #[serde(default = "default_log_buffer")]
    pub buffer: usize,
}

fn default_log_buffer() -> usize {
    16 * 1024
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
/// Access log line formats.
pub enum AccessLogFormat {
    /// Apache/nginx combined.
    #[default]
    Combined,
    /// One JSON object per line.
    Json,
    /// `access_log.template`.
    Template,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Pushing the drain state to vrrpd's control socket.
pub struct VrrpdPush {
    /// vrrpd's control socket.
    pub control_socket: PathBuf,
    /// The `track` name vrrpd knows this proxy by.
    pub track: String,
    /// Upper bound on one push (connect + write + reply).
    #[serde(default = "d_push")]
    pub timeout: Dur,
}

fn d_push() -> Dur {
    Dur(Duration::from_millis(200))
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
/// Drain on SIGTERM.
pub struct Shutdown {
    /// After SIGTERM, keep accepting (health already 503) this long so a failover can move
    /// the VIP before the listeners close.
    #[serde(default)]
    pub grace: Dur,
    /// In-flight requests get at most this long to finish.
    #[serde(default = "d_deadline")]
    pub deadline: Dur,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self {
            grace: Dur::default(),
            deadline: d_deadline(),
        }
    }
}

fn d_deadline() -> Dur {
    Dur(Duration::from_secs(30))
}
