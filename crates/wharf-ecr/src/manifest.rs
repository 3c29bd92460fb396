//! Parsing and validation of the four manifest formats the registry accepts: Docker Image
//! Manifest V2 Schema 2, Docker manifest lists, OCI image manifests and OCI image indexes.
//! It decides the media type (Content-Type header or the body's `mediaType`; OCI bodies may omit
//! it), checks `schemaVersion` and every descriptor, and reports what the manifest points at:
//! the config and layer blobs of an image, or the child manifests of an index. Pure functions,
//! no I/O: whether the referenced content exists is `push`'s business.

use crate::blobs::{parse_digest, sha256_digest, DigestError};
use serde::Deserialize;

/// Largest manifest accepted (ECR's limit is 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Docker Image Manifest V2, Schema 2.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-architecture).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Whether `media_type` is one of the four manifest types above.
pub fn is_manifest_media_type(media_type: &str) -> bool {
    matches!(
        media_type,
        DOCKER_MANIFEST_V2 | DOCKER_MANIFEST_LIST | OCI_MANIFEST | OCI_INDEX
    )
}

/// `sha256:<hex>` of a manifest's exact bytes (its digest).
pub fn digest_of(bytes: &[u8]) -> String {
    sha256_digest(bytes)
}

/// A content descriptor inside a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// What the content is.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: i64,
    /// A "foreign" / non-distributable layer fetched from `urls` (Windows base layers): the
    /// registry does not hold it, so its presence is not required.
    pub foreign: bool,
}

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// One of the four manifest media types.
    pub media_type: String,
    /// The config blob (images only).
    pub config: Option<Descriptor>,
    /// The layer blobs (images only).
    pub layers: Vec<Descriptor>,
    /// The child manifests (indexes and manifest lists only).
    pub manifests: Vec<Descriptor>,
    /// OCI 1.1 `subject`: the manifest this one refers to (may be absent from the registry).
    pub subject: Option<Descriptor>,
    /// OCI 1.1 `artifactType`.
    pub artifact_type: Option<String>,
}

impl Manifest {
    /// Whether this is an index / manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.media_type.as_str(), DOCKER_MANIFEST_LIST | OCI_INDEX)
    }

    /// Config and layer descriptors (the blobs an image needs).
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config.iter().chain(self.layers.iter())
    }

    /// The config blob's media type (ECR's `artifactMediaType`).
    pub fn config_media_type(&self) -> Option<&str> {
        self.config.as_ref().map(|c| c.media_type.as_str())
    }
}

/// Why a manifest was refused (registry: MANIFEST_INVALID).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or a field of the wrong type.
    #[error("the manifest is not valid JSON: {0}")]
    Json(String),
    /// `schemaVersion` is missing or not 2.
    #[error("unsupported manifest schemaVersion {0}; only schemaVersion 2 is supported")]
    SchemaVersion(String),
    /// A media type we do not store.
    #[error("unsupported manifest media type '{0}'")]
    MediaType(String),
    /// The header and the body disagree.
    #[error("the Content-Type '{header}' does not match the manifest's mediaType '{body}'")]
    MediaTypeMismatch {
        /// From Content-Type.
        header: String,
        /// From the body.
        body: String,
    },
    /// No media type anywhere and the shape says nothing.
    #[error("cannot tell the manifest's media type: no Content-Type, no mediaType, and neither config nor manifests")]
    UnknownShape,
    /// A required field is absent, or a forbidden one present.
    #[error("{0}")]
    Shape(String),
    /// A descriptor is malformed.
    #[error("invalid descriptor in {field}: {reason}")]
    Descriptor {
        /// Where (`config`, `layers[2]`, ...).
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// A descriptor as written (every field optional so that errors can name what is missing).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<i64>,
    #[serde(default)]
    urls: Option<Vec<String>>,
}

/// A manifest as written: the union of the four formats.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<serde_json::Value>,
    media_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    artifact_type: Option<String>,
}

/// The media type of a Content-Type header value, without parameters; `None` for the
/// generic types clients send when they do not say (`application/json`, octet-stream).
fn header_media_type(content_type: Option<&str>) -> Option<String> {
    let value = content_type?;
    let media_type = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "" | "application/json" | "application/octet-stream" | "text/plain" => None,
        _ => Some(media_type),
    }
}

/// A reasonable media type: `type/subtype`, printable, short.
fn valid_media_type(media_type: &str) -> bool {
    let Some((kind, subtype)) = media_type.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    media_type.len() <= 255 && token(kind) && token(subtype)
}

fn descriptor(field: &str, raw: RawDescriptor) -> Result<Descriptor, ManifestError> {
    let bad = |reason: String| ManifestError::Descriptor {
        field: field.to_string(),
        reason,
    };
    let media_type = raw
        .media_type
        .ok_or_else(|| bad("mediaType is missing".into()))?;
    if !valid_media_type(&media_type) {
        return Err(bad(format!("mediaType '{media_type}' is not a media type")));
    }
    let digest = raw.digest.ok_or_else(|| bad("digest is missing".into()))?;
    match parse_digest(&digest) {
        Ok(_) => {}
        Err(DigestError::Unsupported) => {
            return Err(bad(format!(
                "digest '{digest}' uses an unsupported algorithm; only sha256 is supported"
            )))
        }
        Err(DigestError::Invalid) => return Err(bad(format!("digest '{digest}' is invalid"))),
    }
    let size = raw.size.ok_or_else(|| bad("size is missing".into()))?;
    if size < 0 {
        return Err(bad(format!("size {size} is negative")));
    }
    let foreign = raw.urls.as_ref().is_some_and(|u| !u.is_empty())
        || media_type.contains(".foreign.")
        || media_type.contains(".nondistributable.");
    Ok(Descriptor {
        media_type,
        digest,
        size,
        foreign,
    })
}

fn descriptors(field: &str, raw: Vec<RawDescriptor>) -> Result<Vec<Descriptor>, ManifestError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, d)| descriptor(&format!("{field}[{i}]"), d))
        .collect()
}

/// Parses and validates a manifest. `content_type` is the request's Content-Type header
/// (PutImage: `imageManifestMediaType`), if any.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, ManifestError> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::Shape(format!(
            "the manifest is {} bytes, more than the {MAX_MANIFEST_BYTES} allowed",
            body.len()
        )));
    }
    let raw: RawManifest =
        serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;

    match &raw.schema_version {
        Some(serde_json::Value::Number(n)) if n.as_i64() == Some(2) => {}
        Some(other) => return Err(ManifestError::SchemaVersion(other.to_string())),
        None => return Err(ManifestError::SchemaVersion("(missing)".into())),
    }

    let header = header_media_type(content_type);
    let media_type = match (header, raw.media_type.as_deref()) {
        (Some(header), Some(body)) if header != body => {
            return Err(ManifestError::MediaTypeMismatch {
                header,
                body: body.to_string(),
            })
        }
        (_, Some(body)) => body.to_string(),
        (Some(header), None) => header,
        (None, None) => {
            if raw.manifests.is_some() && raw.config.is_none() && raw.layers.is_none() {
                OCI_INDEX.to_string()
            } else if raw.config.is_some() && raw.manifests.is_none() {
                OCI_MANIFEST.to_string()
            } else {
                return Err(ManifestError::UnknownShape);
            }
        }
    };
    if !is_manifest_media_type(&media_type) {
        return Err(ManifestError::MediaType(media_type));
    }

    let subject = raw.subject.map(|s| descriptor("subject", s)).transpose()?;
    let mut manifest = Manifest {
        media_type,
        config: None,
        layers: Vec::new(),
        manifests: Vec::new(),
        subject,
        artifact_type: raw.artifact_type,
    };
    if manifest.is_index() {
        if raw.config.is_some() || raw.layers.is_some() {
            return Err(ManifestError::Shape(format!(
                "a {} must not have config or layers",
                manifest.media_type
            )));
        }
        let children = raw.manifests.ok_or_else(|| {
            ManifestError::Shape(format!("a {} needs a manifests list", manifest.media_type))
        })?;
        manifest.manifests = descriptors("manifests", children)?;
    } else {
        if raw.manifests.is_some() {
            return Err(ManifestError::Shape(format!(
                "a {} must not have a manifests list",
                manifest.media_type
            )));
        }
        let config = raw.config.ok_or_else(|| {
            ManifestError::Shape(format!("a {} needs a config", manifest.media_type))
        })?;
        manifest.config = Some(descriptor("config", config)?);
        let layers = raw.layers.ok_or_else(|| {
            ManifestError::Shape(format!("a {} needs a layers list", manifest.media_type))
        })?;
        manifest.layers = descriptors("layers", layers)?;
        if manifest.config.as_ref().is_some_and(|c| c.foreign) {
            return Err(ManifestError::Descriptor {
                field: "config".into(),
                reason: "the config cannot be a foreign blob".into(),
            });
        }
    }
    Ok(manifest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    fn docker_manifest() -> String {
        format!(
            r#"{{
  "schemaVersion": 2,
  "mediaType": "{DOCKER_MANIFEST_V2}",
  "config": {{"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "{}"}},
  "layers": [
    {{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": "{}"}},
    {{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 16724, "digest": "{}"}}
  ]
}}"#,
            d(1),
            d(2),
            d(3)
        )
    }

    #[test]
    fn docker_schema2() {
        let m = parse(Some(DOCKER_MANIFEST_V2), docker_manifest().as_bytes()).unwrap();
        assert_eq!(m.media_type, DOCKER_MANIFEST_V2);
        assert!(!m.is_index());
        assert_eq!(m.config.as_ref().unwrap().digest, d(1));
        assert_eq!(m.layers.len(), 2);
        assert_eq!(m.layers[1].size, 16724);
        assert_eq!(
            m.config_media_type(),
            Some("application/vnd.docker.container.image.v1+json")
        );
        assert_eq!(m.blobs().count(), 3);
        // Without a header, the body decides; generic headers are ignored.
        let m = parse(None, docker_manifest().as_bytes()).unwrap();
        assert_eq!(m.media_type, DOCKER_MANIFEST_V2);
        let m = parse(
            Some("application/json; charset=utf-8"),
            docker_manifest().as_bytes(),
        )
        .unwrap();
        assert_eq!(m.media_type, DOCKER_MANIFEST_V2);
    }

    #[test]
    fn docker_manifest_list() {
        let body = format!(
            r#"{{"schemaVersion": 2, "mediaType": "{DOCKER_MANIFEST_LIST}", "manifests": [
                {{"mediaType": "{DOCKER_MANIFEST_V2}", "size": 7143, "digest": "{}", "platform": {{"architecture": "amd64", "os": "linux"}}}},
                {{"mediaType": "{DOCKER_MANIFEST_V2}", "size": 7682, "digest": "{}", "platform": {{"architecture": "arm64", "os": "linux", "variant": "v8"}}}}
            ]}}"#,
            d(4),
            d(5)
        );
        let m = parse(Some(DOCKER_MANIFEST_LIST), body.as_bytes()).unwrap();
        assert!(m.is_index());
        assert_eq!(
            m.manifests
                .iter()
                .map(|c| c.digest.clone())
                .collect::<Vec<_>>(),
            vec![d(4), d(5)]
        );
        assert_eq!(m.blobs().count(), 0);
        assert_eq!(m.config_media_type(), None);
    }

    #[test]
    fn oci_manifest_with_and_without_media_type() {
        let with = format!(
            r#"{{"schemaVersion": 2, "mediaType": "{OCI_MANIFEST}",
                "config": {{"mediaType": "application/vnd.oci.image.config.v1+json", "size": 10, "digest": "{}"}},
                "layers": [{{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 20, "digest": "{}"}}],
                "annotations": {{"a": "b"}}}}"#,
            d(6),
            d(7)
        );
        let m = parse(Some(OCI_MANIFEST), with.as_bytes()).unwrap();
        assert_eq!(m.media_type, OCI_MANIFEST);
        let without = with.replace(&format!(r#""mediaType": "{OCI_MANIFEST}","#), "");
        assert!(!without.contains(OCI_MANIFEST));
        // Inferred from the shape, or taken from the header.
        assert_eq!(
            parse(None, without.as_bytes()).unwrap().media_type,
            OCI_MANIFEST
        );
        assert_eq!(
            parse(Some(OCI_MANIFEST), without.as_bytes())
                .unwrap()
                .media_type,
            OCI_MANIFEST
        );
        // An artifact: empty layers and an artifactType.
        let artifact = format!(
            r#"{{"schemaVersion": 2, "artifactType": "application/vnd.example+type",
                "config": {{"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "{}"}},
                "layers": [],
                "subject": {{"mediaType": "{OCI_MANIFEST}", "size": 5, "digest": "{}"}}}}"#,
            d(8),
            d(9)
        );
        let m = parse(None, artifact.as_bytes()).unwrap();
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.example+type")
        );
        assert_eq!(m.subject.as_ref().unwrap().digest, d(9));
        assert_eq!(
            m.config_media_type(),
            Some("application/vnd.oci.empty.v1+json")
        );
    }

    #[test]
    fn oci_index_with_and_without_media_type() {
        let body = format!(
            r#"{{"schemaVersion": 2, "manifests": [{{"mediaType": "{OCI_MANIFEST}", "size": 1, "digest": "{}"}}]}}"#,
            d(10)
        );
        let m = parse(None, body.as_bytes()).unwrap();
        assert_eq!(m.media_type, OCI_INDEX);
        assert_eq!(m.manifests[0].digest, d(10));
        let m = parse(Some(OCI_INDEX), body.as_bytes()).unwrap();
        assert!(m.is_index());
    }

    #[test]
    fn foreign_layers_are_marked() {
        let body = format!(
            r#"{{"schemaVersion": 2, "mediaType": "{DOCKER_MANIFEST_V2}",
                "config": {{"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "{}"}},
                "layers": [{{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 5, "digest": "{}", "urls": ["https://example.com/l"]}}]}}"#,
            d(1),
            d(2)
        );
        let m = parse(None, body.as_bytes()).unwrap();
        assert!(m.layers[0].foreign);
        assert!(!m.config.unwrap().foreign);
    }

    #[test]
    fn refusals() {
        let good = docker_manifest();
        let cases: Vec<(Option<&str>, String, &str)> = vec![
            (None, "not json".into(), "JSON"),
            (None, "[]".into(), "JSON"),
            (None, good.replace("\"schemaVersion\": 2", "\"schemaVersion\": 1"), "schemaVersion"),
            (None, good.replace("\"schemaVersion\": 2,", ""), "schemaVersion"),
            (Some(OCI_MANIFEST), good.clone(), "does not match"),
            (
                None,
                good.replace(DOCKER_MANIFEST_V2, "application/vnd.docker.distribution.manifest.v1+prettyjws"),
                "unsupported manifest media type",
            ),
            (None, good.replace(&d(2), "sha256:1234"), "invalid"),
            (
                None,
                good.replace(&d(2), &format!("sha512:{}", "a".repeat(128))),
                "unsupported algorithm",
            ),
            (None, good.replace("32654", "-1"), "negative"),
            (None, good.replace("\"size\": 32654,", ""), "size is missing"),
            (
                None,
                good.replace("\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\", \"size\": 32654,", "\"size\": 32654,"),
                "mediaType is missing",
            ),
            (None, r#"{"schemaVersion": 2}"#.into(), "cannot tell"),
            (Some(OCI_MANIFEST), r#"{"schemaVersion": 2, "layers": []}"#.into(), "needs a config"),
            (
                Some(OCI_INDEX),
                format!(r#"{{"schemaVersion": 2, "manifests": [], "config": {{"mediaType": "a/b", "size": 1, "digest": "{}"}}}}"#, d(1)),
                "must not have config",
            ),
            (Some(OCI_INDEX), r#"{"schemaVersion": 2}"#.into(), "needs a manifests list"),
            (Some(DOCKER_MANIFEST_V2), r#"{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"mediaType": "a/b", "size": 1, "digest": "sha256:x"}}"#.into(), "invalid"),
        ];
        for (header, body, expected) in cases {
            let err = parse(header, body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{body}: {err} (wanted {expected})");
        }
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(parse(None, &huge).is_err());
    }

    #[test]
    fn digest_of_is_sha256_of_the_exact_bytes() {
        assert_eq!(
            digest_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
