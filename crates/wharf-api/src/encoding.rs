//! Request bodies sent with a content coding. botocore (and the other SDKs) gzip the body of an
//! operation with the `requestcompression` trait, CloudWatch's PutMetricData, once it reaches
//! 10 KiB, and say so with `Content-Encoding: gzip`. The signature covers the compressed bytes,
//! so the gateway inflates a body after authentication and before the protocol decodes it,
//! never past its body limit (a small gzip body can inflate to gigabytes). Codings other than
//! `gzip` and `identity` are left alone, as before this module existed.

use flate2::read::MultiGzDecoder;
use std::io::Read;

/// Why a body could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The gzip data is damaged.
    Corrupt(String),
    /// Inflated, the body would be larger than the limit.
    TooLarge,
}

/// The body `body` sent with `Content-Encoding: content_encoding`, decoded: `None` when it has
/// no gzip coding (use it as it is).
pub fn decoded(
    content_encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Option<Vec<u8>>, BodyError> {
    let Some(codings) = content_encoding else {
        return Ok(None);
    };
    let gzip_layers = codings
        .split(',')
        .filter(|c| c.trim().eq_ignore_ascii_case("gzip"))
        .count();
    if gzip_layers == 0 {
        return Ok(None);
    }
    let mut current = body.to_vec();
    for _ in 0..gzip_layers {
        current = gunzip(&current, limit)?;
    }
    Ok(Some(current))
}

/// `data` inflated, at most `limit` bytes of it.
fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    MultiGzDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| {
            BodyError::Corrupt(format!("the gzip request body cannot be inflated: {e}"))
        })?;
    if out.len() > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_bodies_are_inflated_others_left_alone() {
        let body = b"{\"Namespace\":\"N\"}";
        assert_eq!(
            decoded(Some("gzip"), &gzip(body), 1024).unwrap(),
            Some(body.to_vec())
        );
        assert_eq!(
            decoded(Some("identity, GZIP"), &gzip(body), 1024).unwrap(),
            Some(body.to_vec())
        );
        assert_eq!(
            decoded(Some("gzip,gzip"), &gzip(&gzip(body)), 1024).unwrap(),
            Some(body.to_vec())
        );
        assert_eq!(decoded(None, body, 1024).unwrap(), None);
        assert_eq!(decoded(Some("identity"), body, 1024).unwrap(), None);
        assert_eq!(decoded(Some("br"), body, 1024).unwrap(), None);
    }

    #[test]
    fn concatenated_members_are_read_whole() {
        let mut two = gzip(b"Action=PutMetricData&");
        two.extend(gzip(b"Namespace=N"));
        assert_eq!(
            decoded(Some("gzip"), &two, 1024).unwrap(),
            Some(b"Action=PutMetricData&Namespace=N".to_vec())
        );
    }

    #[test]
    fn bombs_and_damage_are_refused() {
        let bomb = gzip(&vec![b'x'; 10 * 1024 * 1024]);
        assert!(bomb.len() < 20 * 1024);
        assert_eq!(
            decoded(Some("gzip"), &bomb, 1024 * 1024),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            decoded(Some("gzip"), &gzip(&[b'x'; 1025]), 1024),
            Err(BodyError::TooLarge)
        );
        assert!(decoded(Some("gzip"), &gzip(&[b'x'; 1024]), 1024).is_ok());
        for damaged in [
            b"not gzip at all".to_vec(),
            gzip(b"{}")[..10].to_vec(),
            Vec::new(),
        ] {
            assert!(
                matches!(
                    decoded(Some("gzip"), &damaged, 1024),
                    Err(BodyError::Corrupt(_))
                ),
                "{damaged:?}"
            );
        }
    }
}
