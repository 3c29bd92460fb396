//! ECR-style image names, served locally. Task definitions name images the AWS way,
//! `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`; the container runtime calls
//! [`Ecr::resolve_image_name`] with that name and pulls the returned `pull_reference`
//! (`<registry_host>/<repo>:<tag>` or `...@sha256:...`) from this registry instead, with a token
//! from [`Ecr::issue_token`] for the image's account and region (user `AWS`). Names already on
//! the local registry host resolve too; any other name (`nginx:latest`,
//! `public.ecr.aws/...`, `ghcr.io/...`) is not ours and resolves to `None`.
//!
//! Accepted hosts: `<12 digits>.dkr.ecr.<region>.amazonaws.com`, the China partition
//! (`.amazonaws.com.cn`), FIPS endpoints (`dkr.ecr-fips`) and the dual-stack
//! `<account>.dkr-ecr.<region>.on.aws`.

use crate::syntax::{valid_digest, valid_image_tag, valid_repository_name};
use crate::Ecr;

/// What an image name points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageReference {
    /// A tag (`latest` when the name has neither tag nor digest).
    Tag(String),
    /// A manifest digest (`sha256:<hex>`); wins over a tag when a name has both.
    Digest(String),
}

impl ImageReference {
    /// The tag or digest text.
    pub fn as_str(&self) -> &str {
        match self {
            ImageReference::Tag(t) | ImageReference::Digest(t) => t,
        }
    }
}

/// An image name this registry serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// `host:port` of this registry (what `pull_reference` starts with).
    pub registry_host: String,
    /// The repository name.
    pub repository: String,
    /// The tag or digest.
    pub reference: ImageReference,
    /// The account from an ECR host name; `None` for a name on the local registry host (the
    /// pulling task's own account applies).
    pub account: Option<String>,
    /// The region from an ECR host name; `None` for a name on the local registry host.
    pub region: Option<String>,
    /// What to pull: `<registry_host>/<repo>:<tag>` or `<registry_host>/<repo>@<digest>`.
    pub pull_reference: String,
}

/// The account and region of an ECR registry host name, if it is one.
fn ecr_host(host: &str) -> Option<(String, String)> {
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let region = if let Some(r) = rest.strip_prefix("dkr-ecr.") {
        r.strip_suffix(".on.aws")?
    } else {
        let r = rest
            .strip_prefix("dkr.ecr.")
            .or_else(|| rest.strip_prefix("dkr.ecr-fips."))?;
        r.strip_suffix(".amazonaws.com")
            .or_else(|| r.strip_suffix(".amazonaws.com.cn"))?
    };
    let region_ok = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    region_ok.then(|| (account.to_string(), region.to_string()))
}

/// Splits `repo[:tag][@digest]` into the repository and its reference.
fn split_reference(rest: &str) -> Option<(&str, ImageReference)> {
    let (name_tag, digest) = match rest.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (rest, None),
    };
    // A tag follows the last ':' after the last '/'.
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(t) = tag {
        if !valid_image_tag(t) {
            return None;
        }
    }
    let reference = match digest {
        Some(d) if valid_digest(d) => ImageReference::Digest(d.to_string()),
        Some(_) => return None,
        None => ImageReference::Tag(tag.unwrap_or("latest").to_string()),
    };
    valid_repository_name(name).then_some((name, reference))
}

impl Ecr {
    /// Resolves an ECR-style image name (or one on this registry's host) to the local pull
    /// reference; `None` for names this registry does not serve. Pure: whether the repository
    /// or tag exists is the pull's business.
    pub fn resolve_image_name(&self, image: &str) -> Option<LocalImage> {
        resolve_with_host(&self.config.registry_host, image)
    }
}

/// [`Ecr::resolve_image_name`] for a given registry host.
pub fn resolve_with_host(registry_host: &str, image: &str) -> Option<LocalImage> {
    let image = image.trim();
    let (host, rest) = image.split_once('/')?;
    let (account, region) = if host.eq_ignore_ascii_case(registry_host) {
        (None, None)
    } else {
        let (a, r) = ecr_host(&host.to_ascii_lowercase())?;
        (Some(a), Some(r))
    };
    let (repository, reference) = split_reference(rest)?;
    let pull_reference = match &reference {
        ImageReference::Tag(t) => format!("{registry_host}/{repository}:{t}"),
        ImageReference::Digest(d) => format!("{registry_host}/{repository}@{d}"),
    };
    Some(LocalImage {
        registry_host: registry_host.to_string(),
        repository: repository.to_string(),
        reference,
        account,
        region,
        pull_reference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "127.0.0.1:4566";
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn resolve(name: &str) -> Option<LocalImage> {
        resolve_with_host(HOST, name)
    }

    #[test]
    fn the_seeds_image_names_resolve_locally() {
        let r = resolve("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/blog-api:v1").unwrap();
        assert_eq!(
            r,
            LocalImage {
                registry_host: HOST.into(),
                repository: "blog-api".into(),
                reference: ImageReference::Tag("v1".into()),
                account: Some("123456789012".into()),
                region: Some("ap-northeast-2".into()),
                pull_reference: "127.0.0.1:4566/blog-api:v1".into(),
            }
        );
        let r = resolve("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web").unwrap();
        assert_eq!(r.repository, "team/web");
        assert_eq!(r.reference, ImageReference::Tag("latest".into()));
        assert_eq!(r.pull_reference, "127.0.0.1:4566/team/web:latest");
    }

    #[test]
    fn digests_win_over_tags() {
        let name = format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2@{DIGEST}");
        let r = resolve(&name).unwrap();
        assert_eq!(r.reference, ImageReference::Digest(DIGEST.into()));
        assert_eq!(r.reference.as_str(), DIGEST);
        assert_eq!(r.pull_reference, format!("127.0.0.1:4566/app@{DIGEST}"));
        let r = resolve(&format!(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@{DIGEST}"
        ))
        .unwrap();
        assert_eq!(r.repository, "app");
    }

    #[test]
    fn other_ecr_host_forms_and_the_local_host() {
        for (name, region) in [
            (
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1",
                "cn-north-1",
            ),
            (
                "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app:1",
                "us-gov-west-1",
            ),
            ("123456789012.dkr-ecr.us-east-1.on.aws/app:1", "us-east-1"),
        ] {
            assert_eq!(
                resolve(name).unwrap().region.as_deref(),
                Some(region),
                "{name}"
            );
        }
        let r = resolve("127.0.0.1:4566/app:dev").unwrap();
        assert_eq!((r.account, r.region), (None, None));
        assert_eq!(r.pull_reference, "127.0.0.1:4566/app:dev");
    }

    #[test]
    fn foreign_and_malformed_names_are_not_ours() {
        for name in [
            "nginx:latest",
            "nginx",
            "library/nginx:1.25",
            "docker.io/library/nginx:latest",
            "public.ecr.aws/nginx/nginx:latest",
            "ghcr.io/org/app:1",
            "12345.dkr.ecr.us-east-1.amazonaws.com/app:1",
            "123456789012.dkr.ecr.us-east-1.example.com/app:1",
            "123456789012.dkr.ecr..amazonaws.com/app:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/App:1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:bad tag",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:xyz",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/",
            "127.0.0.1:9999/app:1",
        ] {
            assert_eq!(resolve(name), None, "{name}");
        }
    }

    #[test]
    fn resolves_through_ecr_with_its_configured_host() {
        let (_d, ecr) = crate::api::testing::ecr();
        let r = ecr
            .resolve_image_name("123456789012.dkr.ecr.us-east-1.amazonaws.com/blog-api:abc1234")
            .unwrap();
        assert_eq!(r.pull_reference, "127.0.0.1:4566/blog-api:abc1234");
        assert!(ecr.resolve_image_name("nginx:latest").is_none());
    }
}
