//! The `NatsConnection` kind: a connection profile other kinds name in `spec.connection`.
//! Secrets are always referenced, never written inline.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A key of a Kubernetes Secret in the resource's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key within the Secret.
    #[schemars(pattern(super::admission::SECRET_KEY))]
    pub key: String,
}

/// Where a secret (or a certificate) comes from: a Kubernetes Secret key for the
/// controller, or a file path for the CLI. Exactly one of the two.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::SECRET_SOURCE)))]
pub struct SecretSource {
    /// A key of a Secret in the same namespace (controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
    /// A file path, relative to the manifest's directory (CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// TLS settings of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::TLS)))]
pub struct TlsConfig {
    /// CA certificate(s) to verify the server with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<SecretSource>,
    /// Client certificate for mutual TLS (with `key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<SecretSource>,
    /// Client private key for mutual TLS (with `cert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<SecretSource>,
    /// Start TLS before the NATS protocol handshake (servers with `handshake_first`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<bool>,
}

/// Username and password authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPassword {
    /// The user name (not a secret).
    #[schemars(pattern(super::admission::NOT_BLANK))]
    pub user: String,
    /// Where the password comes from.
    pub password: SecretSource,
}

/// How the connection authenticates; at most one method.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = super::admission::validations(super::admission::AUTH)))]
pub struct AuthConfig {
    /// A `.creds` file (JWT and nkey seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creds: Option<SecretSource>,
    /// An nkey seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nkey: Option<SecretSource>,
    /// User and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_password: Option<UserPassword>,
    /// A token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretSource>,
}

/// A NATS connection profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NatsConnectionSpec {
    /// Server URLs, e.g. `nats://nats.messaging:4222`, without credentials.
    #[schemars(length(min = 1), inner(pattern(super::admission::SERVER_URL)))]
    pub servers: Vec<String>,
    /// JetStream domain to address (`$JS.<domain>.API`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(super::admission::JS_DOMAIN))]
    pub js_domain: Option<String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}
