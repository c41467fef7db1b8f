//! The connect options of a group of assets: the default connection's
//! settings, or the `NatsConnection` document the assets name.

use std::path::{Path, PathBuf};

use super::error::ProfileError;
use crate::manifest::Declared;
use crate::nats::ConnectOptions;
use crate::spec::AssetSpec;
use crate::spec::connection::{NatsConnectionSpec, SecretSource};

/// The connect options for assets on `connection`: the flags for the
/// default connection (None), the named `NatsConnection` document otherwise.
pub fn connect_options(
    connection: Option<&str>,
    documents: &[Declared],
    flags: &ConnectOptions,
) -> Result<ConnectOptions, ProfileError> {
    let Some(name) = connection else {
        return Ok(flags.clone());
    };
    let profile = documents.iter().find_map(|declared| match &declared.spec {
        AssetSpec::NatsConnection(spec) if declared.metadata.name == name => Some((declared, spec)),
        _ => None,
    });
    let Some((declared, spec)) = profile else {
        return Err(ProfileError::NotDeclared {
            name: name.to_string(),
        });
    };
    let dir = Path::new(&declared.origin.source.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_options(name, spec, &dir, flags)
}

/// Connection options from a `NatsConnection` document: file references are
/// relative to the document's directory; Secret references need the controller.
fn profile_options(
    name: &str,
    spec: &NatsConnectionSpec,
    dir: &Path,
    flags: &ConnectOptions,
) -> Result<ConnectOptions, ProfileError> {
    let file = |source: &SecretSource, what: &'static str| -> Result<PathBuf, ProfileError> {
        match (&source.file, &source.secret_ref) {
            (Some(path), _) => Ok(dir.join(path)),
            (None, Some(_)) => Err(ProfileError::SecretReference {
                name: name.to_string(),
                what,
            }),
            (None, None) => Err(ProfileError::NoSource {
                name: name.to_string(),
                what,
            }),
        }
    };
    let read = |source: &SecretSource, what: &'static str| -> Result<String, ProfileError> {
        let path = file(source, what)?;
        std::fs::read_to_string(&path)
            .map(|text| text.trim().to_string())
            .map_err(|source| ProfileError::Unreadable {
                name: name.to_string(),
                what,
                path,
                source,
            })
    };
    let mut options = ConnectOptions {
        servers: spec.servers.clone(),
        js_domain: spec.js_domain.clone(),
        timeout: flags.timeout,
        ..ConnectOptions::default()
    };
    if let Some(tls) = &spec.tls {
        options.tls_ca = tls.ca.as_ref().map(|s| file(s, "tls.ca")).transpose()?;
        options.tls_cert = tls.cert.as_ref().map(|s| file(s, "tls.cert")).transpose()?;
        options.tls_key = tls.key.as_ref().map(|s| file(s, "tls.key")).transpose()?;
        options.tls_first = tls.first.unwrap_or(false);
    }
    if let Some(auth) = &spec.auth {
        options.creds = auth
            .creds
            .as_ref()
            .map(|s| file(s, "auth.creds"))
            .transpose()?;
        options.nkey = auth
            .nkey
            .as_ref()
            .map(|s| file(s, "auth.nkey"))
            .transpose()?;
        options.token = auth
            .token
            .as_ref()
            .map(|s| read(s, "auth.token"))
            .transpose()?;
        if let Some(user_password) = &auth.user_password {
            options.user = Some(user_password.user.clone());
            options.password = Some(read(&user_password.password, "auth.userPassword.password")?);
        }
    }
    Ok(options)
}
