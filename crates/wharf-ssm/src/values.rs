//! SecureString values at the edge of the store: sealed with the data directory's key
//! ([`wharf_core::Sealer`], bound to [`records::seal_context`]) before they are stored, and
//! opened (or shown in their encrypted form) when read. Values are never logged.

use crate::generated::Error;
use crate::records::{self, StoredValue, StoredVersion};
use crate::Ssm;

/// `plaintext` sealed as the value of `version` of `name`.
pub(crate) fn seal(
    ssm: &Ssm,
    account: &str,
    region: &str,
    name: &str,
    version: i64,
    plaintext: &str,
) -> Result<String, Error> {
    let context = records::seal_context(account, region, name, version);
    ssm.sealer
        .seal(&context, plaintext.as_bytes())
        .map_err(|e| {
            tracing::error!(error = %e, name, version, "cannot seal a SecureString value");
            Error::InternalServerError(format!("wharf could not encrypt the value of {name}: {e}"))
        })
}

/// The value of `version` of `name` as a caller sees it: String and StringList values as
/// they are; SecureString values decrypted when `decrypt`, otherwise in their encrypted
/// form (base64 ciphertext, as AWS shows the KMS ciphertext).
pub(crate) fn reveal(
    ssm: &Ssm,
    account: &str,
    region: &str,
    name: &str,
    version: &StoredVersion,
    decrypt: bool,
) -> Result<String, Error> {
    match &version.value {
        StoredValue::Plain(v) => Ok(v.clone()),
        StoredValue::Sealed(sealed) if !decrypt => {
            Ok(sealed.strip_prefix("v1:").unwrap_or(sealed).to_string())
        }
        StoredValue::Sealed(sealed) => {
            let context = records::seal_context(account, region, name, version.version);
            let failed = |reason: &str| {
                tracing::error!(
                    name,
                    version = version.version,
                    reason,
                    "cannot decrypt a SecureString value"
                );
                Error::InternalServerError(format!(
                    "wharf could not decrypt version {} of {name}: {reason}",
                    version.version
                ))
            };
            let plain = ssm
                .sealer
                .open(&context, sealed)
                .map_err(|e| failed(&e.to_string()))?;
            String::from_utf8(plain).map_err(|_| failed("the decrypted value is not UTF-8"))
        }
    }
}
