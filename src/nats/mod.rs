//! The NATS adapter: connecting (flags, environment, nats CLI contexts),
//! raw JetStream API requests, and reading the live state by listing.
//!
//! It speaks JSON to the server and knows nothing of specs or plans; the
//! engine's pure core turns what it returns into a plan.

pub mod api;
pub mod auth;
pub mod connect;
pub mod connect_error;
mod context;
pub mod error;
pub mod observe;
pub mod options;
pub mod topology;

pub use api::JsApi;
pub use auth::{Auth, Secret};
pub use connect::{AccountUsage, Connection, ServerIdentity, connect, connect_resolved};
pub use connect_error::ConnectError;
pub use error::{ApiError, ApiRequestError};
pub use observe::{
    LiveConsumer, LiveState, LiveStream, ObserveOptions, SequencePair, StreamStateSummary,
    Unavailable, UnavailableReason, inspect, is_listing_denied, observe, observe_consumers,
};
pub use options::{ConnectOptions, ResolvedOptions};
