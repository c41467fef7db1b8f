//! Connection profiles.

use super::*;

#[test]
fn connection_needs_servers() {
    let empty = connection().with(|spec| spec.servers = Vec::new());
    assert_refused(&empty.problems(), "spec.servers");
    assert_clean(&connection().problems());
}

#[test]
fn server_urls_use_nats_schemes() {
    let serving = |url: &str| connection().with(|spec| spec.servers = strings(&[url]));
    let refused = [
        "http://nats:4222",
        "nats://nats:http",
        "nats://:4222",
        "nats://a:4222,nats://b:4222",
        "nats://a b",
        "::1:4222",
    ];
    for url in refused {
        assert_refused(&serving(url).problems(), "spec.servers[0]");
    }
    let accepted = [
        "nats://nats:4222",
        "tls://nats",
        "wss://nats.example.com/ws",
        "nats:4222",
        "[::1]:4222",
        "ws://[::1]",
    ];
    for url in accepted {
        assert_clean(&serving(url).problems());
    }
}

#[test]
fn credentials_in_server_urls_are_refused_without_echoing_them() {
    let problems = connection()
        .with(|spec| spec.servers = strings(&["nats://admin:s3cr3t@nats:4222", "bob:hunter2@nats"]))
        .problems();
    assert_refused(&problems, "spec.servers[0]");
    assert_refused(&problems, "spec.servers[1]");
    for problem in &problems {
        let text = format!("{problem} {}", problem.help.as_deref().unwrap_or_default());
        for secret in ["admin", "s3cr3t", "bob", "hunter2"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("credentials must not be written in the URL"));
        assert!(text.contains("use spec.auth with a Secret reference"));
    }
    assert_clean(&connection().problems());
}

#[test]
fn secret_sources_need_exactly_one_of_secret_ref_and_file() {
    let token = |source: SecretSource| {
        connection().with(|spec| {
            spec.auth = Some(AuthConfig {
                token: Some(source),
                ..AuthConfig::default()
            })
        })
    };
    let both = SecretSource {
        file: Some("token".into()),
        ..secret("nats", "token")
    };
    let path = "spec.auth.token";
    assert_refused(&token(SecretSource::default()).problems(), path);
    assert_refused(&token(both).problems(), path);
    assert_refused(
        &token(secret("NATS", "token")).problems(),
        &format!("{path}.secretRef.name"),
    );
    assert_refused(
        &token(secret("nats", "")).problems(),
        &format!("{path}.secretRef.key"),
    );
    assert_clean(&token(secret("nats", "token")).problems());
    assert_clean(&token(file("./token")).problems());
}

#[test]
fn more_than_one_auth_method_is_refused() {
    let creds = AuthConfig {
        creds: Some(file("app.creds")),
        ..AuthConfig::default()
    };
    let password = UserPassword {
        user: "app".into(),
        password: secret("nats", "password"),
    };
    let both = AuthConfig {
        user_password: Some(password),
        ..creds.clone()
    };
    let problems = connection().with(|spec| spec.auth = Some(both)).problems();
    assert_refused(&problems, "spec.auth");
    assert!(problems[0].message.contains("creds and userPassword"));
    assert_clean(&connection().with(|spec| spec.auth = Some(creds)).problems());
}

#[test]
fn tls_cert_without_key_is_refused() {
    let tls = |cert: Option<&str>, key: Option<&str>| {
        connection().with(|spec| {
            spec.tls = Some(TlsConfig {
                cert: cert.map(file),
                key: key.map(file),
                ..TlsConfig::default()
            })
        })
    };
    assert_refused(&tls(Some("tls.crt"), None).problems(), "spec.tls.cert");
    assert_refused(&tls(None, Some("tls.key")).problems(), "spec.tls.key");
    assert_clean(&tls(Some("tls.crt"), Some("tls.key")).problems());
}

#[test]
fn js_domain_must_be_one_token() {
    let domain = |domain: &str| connection().with(|spec| spec.js_domain = Some(domain.into()));
    assert_refused(&domain("hub.eu").problems(), "spec.jsDomain");
    assert_refused(&domain("hub eu").problems(), "spec.jsDomain");
    assert_clean(&domain("hub").problems());
}
