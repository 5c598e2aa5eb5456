//! The JSON dump keepalived writes on its JSON signal (`/tmp/keepalived.json`): one object per
//! instance with `data` and `stats`, under keepalived's field names where it has them, so
//! tools written against keepalived's dump read vrrpd's.

use serde_json::{Value, json};

use crate::dump::InstanceSnapshot;

/// keepalived's numeric states (INIT 0, BACKUP 1, MASTER 2, FAULT 3).
fn state_number(name: &str) -> u8 {
    match name {
        "BACKUP" => 1,
        "MASTER" => 2,
        "FAULT" => 3,
        _ => 0,
    }
}

fn instance(i: &InstanceSnapshot) -> Value {
    use vrrp::{RxError, RxWarning};
    let c = &i.counters;
    let d = |e: RxError| c.dropped(e);
    json!({
        "data": {
            "iname": i.name,
            "ifp_ifname": i.interface,
            "vrid": i.vrid,
            "version": i.version,
            "state": state_number(i.state),
            "state_name": i.state,
            "base_priority": i.base_priority,
            "effective_priority": i.effective_priority,
            "adver_int": i.advert_interval_ms as f64 / 1000.0,
            "master_saddr": i.master.map(|(a, _)| a.to_string()),
            "master_priority": i.master.map(|(_, p)| p),
            "saddr": i.source.map(|a| a.to_string()),
            "sync_group": i.group,
            "last_transition": i.since_unix,
            "vips": i.vips,
        },
        "stats": {
            "advert_rcvd": i.stats.adverts_received,
            "advert_sent": i.stats.adverts_sent,
            "become_master": i.stats.became_master,
            "release_master": i.stats.released_master,
            "packet_len_err": d(RxError::BadLength) + d(RxError::VrrpTruncated)
                + d(RxError::BadTotalLength),
            "advert_interval_err": d(RxError::IntervalMismatch),
            "ip_ttl_err": d(RxError::BadTtl),
            "invalid_type_rcvd": d(RxError::BadType),
            "addr_list_err": c.warned(RxWarning::AddressListMismatch),
            "invalid_authtype": d(RxError::BadAuthType),
            "authtype_mismatch": d(RxError::AuthTypeMismatch) + d(RxError::AhMismatch),
            "auth_failure": d(RxError::AuthFailure) + d(RxError::AhAuthFailure)
                + d(RxError::AhReplay),
            "pri_zero_rcvd": i.stats.prio0_received,
            "pri_zero_sent": i.stats.prio0_sent,
        },
    })
}

/// The whole dump: a JSON array, one element per instance.
pub fn json_text(insts: &[InstanceSnapshot]) -> String {
    let all: Vec<Value> = insts.iter().map(instance).collect();
    serde_json::to_string_pretty(&Value::Array(all)).unwrap_or_else(|_| "[]".into()) + "\n"
}
