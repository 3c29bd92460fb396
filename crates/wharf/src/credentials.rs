//! Root credentials: created on first start in `<data-dir>/credentials`, an AWS shared
//! credentials file (so `AWS_SHARED_CREDENTIALS_FILE` can point at it). Every profile in that
//! file is an access key of the account's root user.

use anyhow::Context;
use rand::Rng;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use wharf_api::{CredentialStore, Credentials};

/// Access keys of the root user.
pub struct RootKeys {
    account_id: String,
    secrets: HashMap<String, String>,
}

impl CredentialStore for RootKeys {
    fn lookup(&self, access_key_id: &str) -> Option<Credentials> {
        let secret = self.secrets.get(access_key_id)?;
        Some(Credentials {
            secret_access_key: secret.clone(),
            account_id: self.account_id.clone(),
            principal_arn: format!("arn:aws:iam::{}:root", self.account_id),
            user_id: self.account_id.clone(),
            session_token: None,
        })
    }
}

/// Root keys, then the temporary credentials of role sessions (tasks' task roles).
pub struct AllKeys {
    pub root: RootKeys,
    pub sessions: Arc<wharf_iam::RoleSessionStore>,
}

impl CredentialStore for AllKeys {
    fn lookup(&self, access_key_id: &str) -> Option<Credentials> {
        if let Some(found) = self.root.lookup(access_key_id) {
            return Some(found);
        }
        let session = match self.sessions.lookup(access_key_id) {
            Ok(found) => found?,
            Err(e) => {
                tracing::error!(error = %e, "cannot read role sessions");
                return None;
            }
        };
        Some(Credentials {
            secret_access_key: session.secret_access_key,
            account_id: session.account,
            principal_arn: session.principal_arn,
            user_id: session.user_id,
            session_token: Some(session.session_token),
        })
    }
}

/// Loads the credentials file, creating it (owner-only) with a fresh key pair when missing.
/// Returns the keys and whether they were just created.
pub fn load_or_create(path: &Path, account_id: &str) -> anyhow::Result<(RootKeys, bool)> {
    let created = if path.exists() {
        false
    } else {
        let mut rng = rand::thread_rng();
        let key_id: String = (0..16)
            .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[rng.gen_range(0..32)]))
            .collect();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let secret: String = (0..40)
            .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
            .collect();
        let text = format!(
            "# wharf root credentials (account {account_id}). Keep this file private.\n\
             [default]\naws_access_key_id = AKIA{key_id}\naws_secret_access_key = {secret}\n"
        );
        write_private(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        true
    };
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let secrets = parse(&text);
    if secrets.is_empty() {
        anyhow::bail!(
            "{} holds no aws_access_key_id / aws_secret_access_key pair; fix it or delete it to get new keys",
            path.display()
        );
    }
    Ok((
        RootKeys {
            account_id: account_id.to_string(),
            secrets,
        },
        created,
    ))
}

/// The first access key id in the file, for the start-up banner.
pub fn first_key(path: &Path) -> Option<(String, String)> {
    let text = fs::read_to_string(path).ok()?;
    let mut pairs: Vec<(String, String)> = parse(&text).into_iter().collect();
    pairs.sort();
    pairs.into_iter().next()
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// Parses the INI file into access key id -> secret, profile by profile.
fn parse(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut key: Option<String> = None;
    let mut secret: Option<String> = None;
    let mut flush = |key: &mut Option<String>, secret: &mut Option<String>| {
        if let (Some(k), Some(s)) = (key.take(), secret.take()) {
            out.insert(k, s);
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut key, &mut secret);
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            match name.trim() {
                "aws_access_key_id" => key = Some(value.trim().to_string()),
                "aws_secret_access_key" => secret = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    flush(&mut key, &mut secret);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_profile() {
        let keys = parse("[default]\naws_access_key_id = A\naws_secret_access_key = s1\n[ci]\naws_access_key_id=B\naws_secret_access_key=s2\n");
        assert_eq!(keys.get("A").map(String::as_str), Some("s1"));
        assert_eq!(keys.get("B").map(String::as_str), Some("s2"));
    }
}
