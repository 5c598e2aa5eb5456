//! Sans-io VRRPv2/v3 codec and state machine (filled by the vrrp work).
