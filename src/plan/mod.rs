//! The pure core of planning: specs as JetStream configs, configs in a form
//! where desired and live compare equal when they mean the same, and the
//! classification of every asset into create, update, replace, delete,
//! adopt, drift or no-op. No I/O here; the NATS adapter feeds it live
//! configs as JSON.

pub mod capabilities;
pub mod classify;
pub mod desired;
pub mod export;
pub mod fields;
pub mod model;
pub mod mutability;
pub mod normalise;
pub mod ownership;
pub mod restore;
pub mod topology;
pub mod wire;

pub use model::{
    Address, AssetKind, ConsumerFate, DeclaredAt, Holdings, LiveAsset, LiveConfig, Loss,
    LostConsumer,
};
