//! An operator → account → user JWT chain for `.creds` tests, made with the
//! `nkeys` crate as `nsc` would make it (nats-io/jwt v2: header
//! `{"typ":"JWT","alg":"ed25519-nkey"}`, `jti` = unpadded base32 of the
//! SHA-512/256 of the standard claims without `jti`, signature = ed25519 of
//! `header.claims` by the issuer's nkey), and a real nats-server in operator
//! mode that trusts it (`resolver: MEMORY`).
//!
//! Include it beside the controller support (its base64):
//!
//! ```ignore
//! #[path = "support/controller.rs"]
//! mod controller_support;
//! #[path = "support/creds.rs"]
//! mod creds;
//! ```

#![allow(dead_code)]

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nkeys::KeyPair;
use serde_json::{Value, json};
use sha2::{Digest, Sha512_256};

use crate::controller_support::{BASE64URL, base64};
use crate::support::{NatsServer, NatsServerBuilder};

/// RFC 4648 base32 without padding (Go's `base32.StdEncoding.WithPadding(NoPadding)`).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut text = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        text.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    text
}

/// A v2 JWT about `subject`, signed by `issuer`, with `nats` as its NATS claims.
fn jwt(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let iss = issuer.public_key();
    // The standard claims in Go's field order (aud, exp, jti, iat, iss, name,
    // nbf, sub; empty ones left out), serialised with jti empty, hashed.
    let standard = format!(
        "{{\"iat\":{iat},\"iss\":{},\"name\":{},\"sub\":{}}}",
        json!(iss),
        json!(name),
        json!(subject)
    );
    let jti = base32(&Sha512_256::digest(standard.as_bytes()));
    let claims = json!({
        "jti": jti, "iat": iat, "iss": iss, "name": name, "sub": subject, "nats": nats,
    });
    let header = base64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#, BASE64URL, false);
    let body = base64(claims.to_string().as_bytes(), BASE64URL, false);
    let signed = format!("{header}.{body}");
    let signature = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", base64(&signature, BASE64URL, false))
}

/// The `.creds` file `nsc generate creds` writes.
fn creds_file(user_jwt: &str, user_seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{user_seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

/// An operator, its system account, an account with JetStream, a user of it, and another user's
/// seed that the user's JWT does not name.
pub struct Chain {
    pub operator_jwt: String,
    pub operator_seed: String,
    pub system_public: String,
    pub system_jwt: String,
    pub account_public: String,
    pub account_jwt: String,
    pub account_seed: String,
    pub user_jwt: String,
    pub user_seed: String,
    pub other_seed: String,
}

impl Chain {
    pub fn new() -> Self {
        let operator = KeyPair::new_operator();
        let system = KeyPair::new_account();
        let account = KeyPair::new_account();
        let user = KeyPair::new_user();
        let other = KeyPair::new_user();
        let operator_jwt = jwt(
            &operator,
            &operator.public_key(),
            "jetsync-test-operator",
            json!({"system_account": system.public_key(), "type": "operator", "version": 2}),
        );
        let account_limits = json!({
            "subs": -1, "data": -1, "payload": -1,
            "imports": -1, "exports": -1, "wildcards": true, "conn": -1, "leaf": -1,
        });
        // JetStream needs a system account; it has no JetStream itself.
        let system_jwt = jwt(
            &operator,
            &system.public_key(),
            "SYS",
            json!({
                "limits": account_limits,
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account", "version": 2,
            }),
        );
        let mut limits = account_limits.clone();
        for key in ["mem_storage", "disk_storage", "streams", "consumer"] {
            limits[key] = json!(-1);
        }
        let account_jwt = jwt(
            &operator,
            &account.public_key(),
            "jetsync-test-account",
            json!({
                "limits": limits,
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account", "version": 2,
            }),
        );
        let user_jwt = jwt(
            &account,
            &user.public_key(),
            "jetsync",
            json!({
                "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                "type": "user", "version": 2,
            }),
        );
        Self {
            operator_jwt,
            operator_seed: operator.seed().unwrap(),
            system_public: system.public_key(),
            system_jwt,
            account_public: account.public_key(),
            account_jwt,
            account_seed: account.seed().unwrap(),
            user_jwt,
            user_seed: user.seed().unwrap(),
            other_seed: other.seed().unwrap(),
        }
    }

    /// The right creds file.
    pub fn creds(&self) -> String {
        creds_file(&self.user_jwt, &self.user_seed)
    }

    /// The user's JWT with another user's seed: the server must refuse it.
    pub fn wrong_creds(&self) -> String {
        creds_file(&self.user_jwt, &self.other_seed)
    }

    /// A server in operator mode trusting this chain; the operator JWT is
    /// written into `dir`, which must outlive the server.
    pub fn server(&self, dir: &Path) -> NatsServerBuilder {
        let operator_file = dir.join("operator.jwt");
        std::fs::write(&operator_file, &self.operator_jwt).unwrap();
        NatsServer::builder().config_extra(format!(
            "operator: \"{}\"\nsystem_account: {}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {}: \"{}\"\n  {}: \"{}\"\n}}",
            operator_file.display(),
            self.system_public,
            self.system_public,
            self.system_jwt,
            self.account_public,
            self.account_jwt
        ))
    }

    /// What must never show: every seed, the user JWT and its signature
    /// alone, and the user seed without its prefix (a partial echo).
    pub fn secrets(&self) -> Vec<String> {
        let signature = self.user_jwt.rsplit('.').next().unwrap().to_string();
        vec![
            self.user_seed.clone(),
            self.user_seed[2..40].to_string(),
            self.other_seed.clone(),
            self.account_seed.clone(),
            self.operator_seed.clone(),
            self.user_jwt.clone(),
            signature,
        ]
    }
}
