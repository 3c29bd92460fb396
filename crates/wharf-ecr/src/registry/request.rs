//! What a registry request addresses: the `/v2/` path parsed from the right (repository names
//! contain `/` and may contain route words), its query parameters and `Content-Length`.

use http::header;
use http::HeaderMap;

/// What a `/v2/` path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the API version check (and login).
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/tags/list`.
    Tags {
        /// Repository name.
        name: String,
    },
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        /// Repository name.
        name: String,
        /// Tag or digest.
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        /// Repository name.
        name: String,
        /// Digest.
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/`.
    UploadStart {
        /// Repository name.
        name: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>`.
    Upload {
        /// Repository name.
        name: String,
        /// Upload id.
        id: String,
    },
}

/// Decodes `%XX` escapes; `None` if malformed or not UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses a request path, from the right: the last segments say what is addressed and
/// everything before them is the repository name (which may itself contain `manifests`,
/// `blobs` or `tags` components). `None` for a path that is no registry endpoint.
pub fn parse_path(path: &str) -> Option<Route> {
    if path == "/v2" || path == "/v2/" {
        return Some(Route::Base);
    }
    let rest = path.strip_prefix("/v2/")?;
    if rest == "_catalog" {
        return Some(Route::Catalog);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    let name = |end: usize| -> Option<String> {
        if end == 0 {
            return None;
        }
        percent_decode(&segments[..end].join("/"))
    };
    let last = |i: usize| percent_decode(segments[n - i]);
    if n >= 3 && segments[n - 2] == "tags" && segments[n - 1] == "list" {
        return Some(Route::Tags { name: name(n - 2)? });
    }
    if n >= 3 && segments[n - 2] == "manifests" {
        return Some(Route::Manifest {
            name: name(n - 2)?,
            reference: last(1)?,
        });
    }
    // A digest always has a ':'; an upload id never does.
    if n >= 3 && segments[n - 2] == "blobs" && last(1)?.contains(':') {
        return Some(Route::Blob {
            name: name(n - 2)?,
            digest: last(1)?,
        });
    }
    if n >= 3 && segments[n - 2] == "blobs" && segments[n - 1] == "uploads" {
        return Some(Route::UploadStart { name: name(n - 2)? });
    }
    if n >= 4 && segments[n - 3] == "blobs" && segments[n - 2] == "uploads" {
        if segments[n - 1].is_empty() {
            return Some(Route::UploadStart { name: name(n - 3)? });
        }
        return Some(Route::Upload {
            name: name(n - 3)?,
            id: last(1)?,
        });
    }
    if n >= 3 && segments[n - 2] == "blobs" {
        return Some(Route::Blob {
            name: name(n - 2)?,
            digest: last(1)?,
        });
    }
    None
}

/// The query parameters of a request, decoded.
#[derive(Debug, Default)]
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn parse(query: Option<&str>) -> Self {
        let pairs = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                Some((
                    percent_decode(&k.replace('+', " "))?,
                    percent_decode(&v.replace('+', " "))?,
                ))
            })
            .collect();
        Self(pairs)
    }

    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub(super) fn route_name(route: &Route) -> Option<&str> {
    match route {
        Route::Base | Route::Catalog => None,
        Route::Tags { name }
        | Route::Manifest { name, .. }
        | Route::Blob { name, .. }
        | Route::UploadStart { name }
        | Route::Upload { name, .. } => Some(name),
    }
}

pub(super) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_from_the_right() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let cases: Vec<(String, Option<Route>)> = vec![
            ("/v2".into(), Some(Route::Base)),
            ("/v2/".into(), Some(Route::Base)),
            ("/v2/_catalog".into(), Some(Route::Catalog)),
            (
                "/v2/team/app/tags/list".into(),
                Some(Route::Tags {
                    name: "team/app".into(),
                }),
            ),
            (
                "/v2/a/b/c/manifests/v1.2".into(),
                Some(Route::Manifest {
                    name: "a/b/c".into(),
                    reference: "v1.2".into(),
                }),
            ),
            // Names whose components look like route words.
            (
                "/v2/x/manifests/manifests/latest".into(),
                Some(Route::Manifest {
                    name: "x/manifests".into(),
                    reference: "latest".into(),
                }),
            ),
            (
                "/v2/a/blobs/tags/list".into(),
                Some(Route::Tags {
                    name: "a/blobs".into(),
                }),
            ),
            (
                format!("/v2/x/blobs/blobs/{digest}"),
                Some(Route::Blob {
                    name: "x/blobs".into(),
                    digest: digest.clone(),
                }),
            ),
            (
                format!("/v2/r/blobs/uploads/blobs/{digest}"),
                Some(Route::Blob {
                    name: "r/blobs/uploads".into(),
                    digest: digest.clone(),
                }),
            ),
            (
                format!("/v2/team/app/blobs/sha256%3A{}", "a".repeat(64)),
                Some(Route::Blob {
                    name: "team/app".into(),
                    digest: digest.clone(),
                }),
            ),
            (
                "/v2/team/app/blobs/uploads/".into(),
                Some(Route::UploadStart {
                    name: "team/app".into(),
                }),
            ),
            (
                "/v2/team/app/blobs/uploads".into(),
                Some(Route::UploadStart {
                    name: "team/app".into(),
                }),
            ),
            (
                "/v2/team/app/blobs/uploads/0f9e-11".into(),
                Some(Route::Upload {
                    name: "team/app".into(),
                    id: "0f9e-11".into(),
                }),
            ),
            (
                "/v2/uploads/blobs/uploads/id".into(),
                Some(Route::Upload {
                    name: "uploads".into(),
                    id: "id".into(),
                }),
            ),
            ("/v2/manifests/latest".into(), None),
            ("/v2/app".into(), None),
            ("/v2/app/tags".into(), None),
            ("/v3/app/tags/list".into(), None),
            ("/v2/app/manifests/%zz".into(), None),
        ];
        for (path, expected) in cases {
            assert_eq!(parse_path(&path), expected, "{path}");
        }
    }
}
