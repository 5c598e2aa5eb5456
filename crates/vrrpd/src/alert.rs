//! E-mail alerts (`smtp_alert`): one mail per transition from `notification_email_from` to
//! every `notification_email` through `smtp_server HOST [PORT]`, sent by lettre.
//!
//! Sending is asynchronous behind a bounded queue: the state machine only enqueues
//! (`try_send`). The worker sends mails in order; when the server is down or black-holes
//! the connection, the mail at the head is retried with a growing pause and the rest wait
//! in the queue, so no earlier mail is lost until the queue is full (then new mails are
//! dropped and counted). An outage is logged once when it starts and once when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::control::AlertStats;

/// keepalived's default `smtp_connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default number of mails that may wait for the server.
pub const DEFAULT_QUEUE: usize = 256;
/// Pause after a failed attempt grows from this...
const RETRY_MIN: Duration = Duration::from_secs(1);
/// ...to at most this.
const RETRY_MAX: Duration = Duration::from_secs(60);

/// The SMTP settings of `global_defs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSpec {
    /// SMTP relay host (`smtp_server`).
    pub server: String,
    /// Default 25.
    pub port: u16,
    /// `smtp_helo_name`; `None` uses the host name.
    pub helo_name: Option<String>,
    /// `smtp_connect_timeout`: a relay that does not answer in time is retried later.
    pub connect_timeout: Duration,
    /// `notification_email_from`.
    pub from: String,
    /// `notification_email`.
    pub to: Vec<String>,
    /// `router_id`, named in every subject.
    pub router_id: String,
}

/// One transition to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `instance` or `sync group`.
    pub kind: AlertKind,
    /// The instance or sync group that changed.
    pub name: String,
    /// State before the transition, as keepalived names it.
    pub old_state: String,
    /// State after the transition.
    pub new_state: String,
    /// Priority at the transition, for instances (sync groups have none).
    pub priority: Option<u8>,
    /// Why, e.g. which track script failed.
    pub reason: String,
}

/// What an alert is about, named in its subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// A `vrrp_instance` (`smtp_alert` on the instance).
    Instance,
    /// A `vrrp_sync_group` (`smtp_alert` on the group).
    SyncGroup,
}

impl AlertKind {
    fn as_str(self) -> &'static str {
        match self {
            AlertKind::Instance => "instance",
            AlertKind::SyncGroup => "sync group",
        }
    }
}

/// Bad SMTP settings, or a mail that was not queued.
#[derive(Debug, Error)]
pub enum AlertError {
    /// An address in `notification_email`/`_from` that is not an e-mail address.
    #[error("invalid e-mail address {address:?}: {error}")]
    Address {
        /// The address as written.
        address: String,
        /// What is wrong with it.
        error: String,
    },
    /// Mail was asked for but nobody is configured to get it.
    #[error("no notification_email recipients")]
    NoRecipients,
    /// The message could not be assembled (header or body rejected).
    #[error("cannot build mail: {0}")]
    Build(String),
    /// The bounded queue is full: alerts are dropped rather than blocking the event loop.
    #[error("mail queue full ({0} waiting); alert dropped")]
    QueueFull(usize),
    /// The mail worker is gone (daemon stopping).
    #[error("mail worker has stopped")]
    Stopped,
}

fn parse_mailbox(address: &str) -> Result<Mailbox, AlertError> {
    address.parse::<Mailbox>().map_err(|e| AlertError::Address {
        address: address.to_owned(),
        error: e.to_string(),
    })
}

/// The subject line: router id, what changed, and a short reason.
pub fn subject(router_id: &str, alert: &Alert) -> String {
    let mut reason: String = alert.reason.chars().take(80).collect();
    if alert.reason.chars().nth(80).is_some() {
        reason.push_str("...");
    }
    let reason = reason.replace(['\r', '\n'], " ");
    if reason.is_empty() {
        format!(
            "[{router_id}] VRRP {} {} is now {}",
            alert.kind.as_str(),
            alert.name,
            alert.new_state
        )
    } else {
        format!(
            "[{router_id}] VRRP {} {} is now {}: {reason}",
            alert.kind.as_str(),
            alert.name,
            alert.new_state
        )
    }
}

/// The plain-text body.
pub fn body(router_id: &str, alert: &Alert) -> String {
    let priority = alert
        .priority
        .map_or_else(|| "-".to_owned(), |p| p.to_string());
    format!(
        "router_id: {router_id}\n{}: {}\nstate: {} -> {}\npriority: {priority}\nreason: {}\n",
        alert.kind.as_str(),
        alert.name,
        alert.old_state,
        alert.new_state,
        alert.reason
    )
}

/// Builds the mail for `alert` (sender, every recipient, subject, body, Date).
pub fn compose(spec: &SmtpSpec, alert: &Alert) -> Result<Message, AlertError> {
    let mut builder = Message::builder()
        .from(parse_mailbox(&spec.from)?)
        .subject(subject(&spec.router_id, alert))
        .header(ContentType::TEXT_PLAIN);
    if spec.to.is_empty() {
        return Err(AlertError::NoRecipients);
    }
    for to in &spec.to {
        builder = builder.to(parse_mailbox(to)?);
    }
    builder
        .body(body(&spec.router_id, alert))
        .map_err(|e| AlertError::Build(e.to_string()))
}

#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    dropped_queue_full: AtomicU64,
    failed_attempts: AtomicU64,
    rejected: AtomicU64,
}

/// The mail queue and its worker.
#[derive(Debug)]
pub struct AlertQueue {
    tx: mpsc::Sender<Message>,
    spec: Arc<SmtpSpec>,
    capacity: usize,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl AlertQueue {
    /// Checks the addresses and starts the worker (inside a tokio runtime).
    pub fn start(spec: SmtpSpec, capacity: usize) -> Result<Self, AlertError> {
        parse_mailbox(&spec.from)?;
        if spec.to.is_empty() {
            return Err(AlertError::NoRecipients);
        }
        for to in &spec.to {
            parse_mailbox(to)?;
        }
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let counters = Arc::new(Counters::default());
        let spec = Arc::new(spec);
        let task = tokio::spawn(worker(spec.clone(), rx, counters.clone()));
        Ok(AlertQueue {
            tx,
            spec,
            capacity,
            counters,
            task,
        })
    }

    /// Queues the mail for `alert`; never waits.
    pub fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let message = compose(&self.spec, alert)?;
        match self.tx.try_send(message) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self
                    .counters
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed)
                    + 1;
                if dropped.is_power_of_two() {
                    tracing::error!(
                        dropped,
                        "mail queue full ({} waiting); dropping alert mails",
                        self.capacity
                    );
                }
                Err(AlertError::QueueFull(self.capacity))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(AlertError::Stopped),
        }
    }

    /// Counters for `show stats`.
    pub fn stats(&self) -> AlertStats {
        AlertStats {
            queued: self.counters.queued.load(Ordering::Relaxed),
            sent: self.counters.sent.load(Ordering::Relaxed),
            dropped_queue_full: self.counters.dropped_queue_full.load(Ordering::Relaxed),
            failed_attempts: self.counters.failed_attempts.load(Ordering::Relaxed),
            rejected: self.counters.rejected.load(Ordering::Relaxed),
        }
    }

    /// Gives queued mails at most `deadline` to go out, then stops the worker.
    pub async fn shutdown(self, deadline: Duration) {
        drop(self.tx);
        let mut task = self.task;
        if tokio::time::timeout(deadline, &mut task).await.is_err() {
            task.abort();
        }
    }
}

fn transport(spec: &SmtpSpec) -> AsyncSmtpTransport<Tokio1Executor> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(spec.server.as_str())
        .port(spec.port)
        .timeout(Some(spec.connect_timeout));
    if let Some(helo) = &spec.helo_name {
        builder = builder.hello_name(ClientId::Domain(helo.clone()));
    }
    builder.build()
}

async fn worker(spec: Arc<SmtpSpec>, mut rx: mpsc::Receiver<Message>, counters: Arc<Counters>) {
    let mailer = transport(&spec);
    // Whole-attempt bound: lettre's timeout covers the connect and socket operations, but a
    // server that accepts and never greets must not hold the head of the queue for long.
    let attempt_budget = (spec.connect_timeout * 2).max(Duration::from_secs(1));
    let mut outage_since: Option<tokio::time::Instant> = None;
    while let Some(message) = rx.recv().await {
        let mut pause = RETRY_MIN;
        loop {
            let result = tokio::time::timeout(attempt_budget, mailer.send(message.clone())).await;
            let error = match result {
                Ok(Ok(_)) => None,
                Ok(Err(e)) if e.is_permanent() => {
                    // The server answered and refuses this mail (5xx): retrying cannot help
                    // and would block every later mail behind it.
                    let rejected = counters.rejected.fetch_add(1, Ordering::Relaxed) + 1;
                    if rejected.is_power_of_two() {
                        tracing::error!(server = %spec.server, error = %e, rejected, "SMTP server rejected an alert mail; dropping it");
                    }
                    break;
                }
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!(
                    "no answer within {:.1}s",
                    attempt_budget.as_secs_f64()
                )),
            };
            match error {
                None => {
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    if let Some(since) = outage_since.take() {
                        tracing::info!(
                            server = %spec.server,
                            "SMTP server reachable again after {:.1}s; sending queued alerts",
                            since.elapsed().as_secs_f64()
                        );
                    }
                    break;
                }
                Some(error) => {
                    counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
                    if outage_since.is_none() {
                        outage_since = Some(tokio::time::Instant::now());
                        tracing::warn!(
                            server = %spec.server,
                            port = spec.port,
                            %error,
                            "cannot send alert mail; keeping it queued and retrying (logged once per outage)"
                        );
                    } else {
                        tracing::debug!(server = %spec.server, %error, "alert mail retry failed");
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

impl SmtpSpec {
    /// The SMTP settings of `global_defs`, or `None` when no mail can be sent (no
    /// `smtp_server` or no `notification_email`). `hostname` and `user` give keepalived's
    /// defaults: router_id = host name, From = `user@hostname`.
    pub fn from_global(
        g: &keepalived_conf::GlobalDefs,
        hostname: &str,
        user: &str,
    ) -> Option<SmtpSpec> {
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        Some(SmtpSpec {
            server: server.host.clone(),
            port: server.port,
            helo_name: g.smtp_helo_name.clone(),
            connect_timeout: g.smtp_connect_timeout,
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("{user}@{hostname}")),
            to: g.notification_email.clone(),
            router_id: g.router_id.clone().unwrap_or_else(|| hostname.to_owned()),
        })
    }
}

/// Whether a transition into `new_state` of an object with `smtp_alert` set to `enabled`
/// is mailed (`no_email_faults` suppresses FAULT mails).
pub fn should_mail(g: &keepalived_conf::GlobalDefs, enabled: bool, new_state: &str) -> bool {
    enabled && !(g.no_email_faults && new_state == "FAULT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SmtpSpec {
        SmtpSpec {
            server: "127.0.0.1".into(),
            port: 25,
            helo_name: None,
            connect_timeout: Duration::from_secs(1),
            from: "vrrpd@lb-a.example".into(),
            to: vec![
                "ops@example.org".into(),
                "\"On Call\" <oncall@example.org>".into(),
            ],
            router_id: "lb-a".into(),
        }
    }

    fn alert() -> Alert {
        Alert {
            kind: AlertKind::Instance,
            name: "VI_1".into(),
            old_state: "MASTER".into(),
            new_state: "BACKUP".into(),
            priority: Some(101),
            reason: "track script chk_elb: failed 3 time(s) in a row (last: exit status 4)".into(),
        }
    }

    #[test]
    fn subject_and_body_carry_router_instance_state_and_reason() {
        let s = subject("lb-a", &alert());
        assert_eq!(
            s,
            "[lb-a] VRRP instance VI_1 is now BACKUP: track script chk_elb: failed 3 time(s) in a row (last: exit status 4)"
        );
        let b = body("lb-a", &alert());
        assert!(b.contains("state: MASTER -> BACKUP\n"), "{b}");
        assert!(b.contains("reason: track script chk_elb"), "{b}");
        let long = Alert {
            reason: "x\n".repeat(100),
            ..alert()
        };
        let s = subject("lb-a", &long);
        assert!(s.ends_with("...") && !s.contains('\n'), "{s}");
    }

    #[test]
    fn compose_addresses_every_recipient() {
        let m = compose(&spec(), &alert()).unwrap();
        let env = m.envelope();
        assert_eq!(env.from().unwrap().to_string(), "vrrpd@lb-a.example");
        let to: Vec<String> = env.to().iter().map(|a| a.to_string()).collect();
        assert_eq!(to, ["ops@example.org", "oncall@example.org"]);
    }

    #[test]
    fn bad_addresses_are_rejected_up_front() {
        let bad = SmtpSpec {
            to: vec!["not an address".into()],
            ..spec()
        };
        assert!(matches!(
            compose(&bad, &alert()),
            Err(AlertError::Address { .. })
        ));
        let none = SmtpSpec {
            to: vec![],
            ..spec()
        };
        assert!(matches!(
            compose(&none, &alert()),
            Err(AlertError::NoRecipients)
        ));
    }
}
