//! Reaching a resource's server: the connection it uses, and what a
//! failure to connect or to read means for its status.

use super::Context;
use super::conditions::{events, reasons, types};
use super::connections::{Profile, ProfileError, load_profile};
use super::status::{Conclusion, Next, Note, NoteType};
use crate::nats::error::ApiRequestError;
use crate::nats::{ConnectError, Connection};
use crate::spec::AssetSpec;
use crate::spec::validate::validate;

/// What a connection problem means for the resource.
pub(crate) fn connection_conclusion(error: &ConnectError) -> (Conclusion, &'static str) {
    let message = error.to_string();
    let reason = match error {
        ConnectError::AuthRefused { .. } => reasons::AUTH_REFUSED,
        ConnectError::JetStreamDisabled { .. } | ConnectError::WrongDomain { .. } => {
            reasons::JETSTREAM_DISABLED
        }
        ConnectError::InvalidServerUrl { .. }
        | ConnectError::InvalidConfig { .. }
        | ConnectError::Context { .. } => {
            return (
                Conclusion::stalled(reasons::INVALID_SPEC, message),
                reasons::INVALID_SPEC,
            );
        }
        ConnectError::JetStreamApi(error) => {
            return (request_conclusion(error), reasons::CONNECTION_FAILED);
        }
        ConnectError::Unreachable { .. }
        | ConnectError::Tls { .. }
        | ConnectError::LocalFile { .. } => reasons::CONNECTION_FAILED,
    };
    let conclusion = Conclusion::waiting(reason, message.clone(), Next::Backoff).with_note(Note {
        type_: NoteType::Warning,
        reason: events::CONNECTION_FAILED,
        message,
        when_changed: Some(types::READY),
    });
    (conclusion, reason)
}

/// What a failed JetStream API request (while reading) means.
pub(crate) fn request_conclusion(error: &ApiRequestError) -> Conclusion {
    let reason = match error {
        ApiRequestError::NoResponders { .. } => reasons::JETSTREAM_DISABLED,
        ApiRequestError::PermissionDenied { .. } => reasons::PERMISSION_DENIED,
        ApiRequestError::Api { error, .. } if error.is_jetstream_not_enabled() => {
            reasons::JETSTREAM_DISABLED
        }
        _ => reasons::CONNECTION_FAILED,
    };
    Conclusion::waiting(reason, error.to_string(), Next::Backoff).with_note(Note {
        type_: NoteType::Warning,
        reason: events::CONNECTION_FAILED,
        message: error.to_string(),
        when_changed: Some(types::READY),
    })
}

/// The connection a resource uses (`spec.connection`, else the default).
pub(crate) async fn connection_for(
    ctx: &Context,
    namespace: &str,
    name: Option<&str>,
    user: &str,
) -> Result<Connection, Conclusion> {
    let profile = match name {
        None => Profile::Default,
        Some(name) => match load_profile(&ctx.client, namespace, name).await {
            Ok(material) => Profile::Named(Box::new(material)),
            Err(error) => return Err(profile_conclusion(&error)),
        },
    };
    match ctx.pool.get(&profile, Some(user)).await {
        Ok(connection) => {
            ctx.metrics.connections_open(ctx.pool.open());
            Ok(connection)
        }
        Err(error) => {
            let (conclusion, reason) = connection_conclusion(&error);
            ctx.metrics.connection_failed(reason);
            Err(conclusion)
        }
    }
}

pub(crate) fn profile_conclusion(error: &ProfileError) -> Conclusion {
    let message = error.to_string();
    match error {
        ProfileError::ConnectionNotFound { .. } => {
            Conclusion::waiting(reasons::CONNECTION_NOT_FOUND, message, Next::Backoff)
        }
        ProfileError::SecretNotFound { .. } => {
            Conclusion::waiting(reasons::SECRET_NOT_FOUND, message, Next::Backoff)
        }
        ProfileError::Invalid(_) => Conclusion::stalled(reasons::INVALID_SPEC, message),
        ProfileError::Kube { .. } => {
            Conclusion::waiting(reasons::CONNECTION_FAILED, message, Next::Backoff)
        }
    }
}

/// Static validation errors of a spec, joined; None when valid.
pub(crate) fn invalid_spec(name: &str, spec: &AssetSpec) -> Option<String> {
    let errors: Vec<String> = validate(name, spec)
        .into_iter()
        .filter(|problem| problem.is_error())
        .map(|problem| problem.to_string())
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}
