//! Deterministic simulator (filled next).
