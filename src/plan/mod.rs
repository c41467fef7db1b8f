//! The pure core of planning: specs as JetStream configs, and configs in a
//! form where desired and live compare equal when they mean the same.
//! No I/O here; the NATS adapter feeds it live configs as JSON.

pub mod normalise;
pub mod wire;
