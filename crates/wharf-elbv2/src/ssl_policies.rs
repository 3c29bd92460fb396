//! The TLS security policies HTTPS listeners can name, with the protocols and ciphers AWS
//! lists for them (OpenSSL names; TLS 1.3 suites by their IANA names), and
//! DescribeSSLPolicies over them. The data plane serves each policy with what its TLS library
//! offers of it (TLS 1.2 and 1.3 with AEAD ciphers).

use crate::generated::{
    Cipher, DescribeSSLPoliciesInput, DescribeSSLPoliciesOutput, Error, SslPolicy,
};
use crate::paging::page;

/// The policy an HTTPS listener gets when it names none.
pub const DEFAULT_POLICY: &str = "ELBSecurityPolicy-2016-08";

const TLS13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
const ECDHE_GCM: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];
const ECDHE_CBC_SHA2: &[&str] = &[
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
];
const ECDHE_CBC_SHA1: &[&str] = &[
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-RSA-AES256-SHA",
    "ECDHE-ECDSA-AES256-SHA",
];
const RSA_KX: &[&str] = &[
    "AES128-GCM-SHA256",
    "AES128-SHA256",
    "AES128-SHA",
    "AES256-GCM-SHA384",
    "AES256-SHA256",
    "AES256-SHA",
];
const RSA_KX_SHA2: &[&str] = &[
    "AES128-GCM-SHA256",
    "AES128-SHA256",
    "AES256-GCM-SHA384",
    "AES256-SHA256",
];

/// A policy: name, protocols, cipher groups in priority order.
struct Policy {
    name: &'static str,
    protocols: &'static [&'static str],
    ciphers: &'static [&'static [&'static str]],
}

const POLICIES: &[Policy] = &[
    Policy {
        name: "ELBSecurityPolicy-2016-08",
        protocols: &["TLSv1", "TLSv1.1", "TLSv1.2"],
        ciphers: &[ECDHE_GCM, ECDHE_CBC_SHA2, ECDHE_CBC_SHA1, RSA_KX],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-1-2017-01",
        protocols: &["TLSv1.1", "TLSv1.2"],
        ciphers: &[ECDHE_GCM, ECDHE_CBC_SHA2, ECDHE_CBC_SHA1, RSA_KX],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-2-2017-01",
        protocols: &["TLSv1.2"],
        ciphers: &[ECDHE_GCM, ECDHE_CBC_SHA2, RSA_KX_SHA2],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        protocols: &["TLSv1.2"],
        ciphers: &[ECDHE_GCM, ECDHE_CBC_SHA2, ECDHE_CBC_SHA1, RSA_KX],
    },
    Policy {
        name: "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        protocols: &["TLSv1.2"],
        ciphers: &[ECDHE_GCM],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[TLS13, ECDHE_GCM, ECDHE_CBC_SHA2],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[TLS13, ECDHE_GCM],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        ciphers: &[TLS13, ECDHE_GCM, ECDHE_CBC_SHA2, RSA_KX_SHA2],
    },
    Policy {
        name: "ELBSecurityPolicy-TLS13-1-3-2021-06",
        protocols: &["TLSv1.3"],
        ciphers: &[TLS13],
    },
];

/// Whether `name` is a policy HTTPS listeners can use.
pub fn exists(name: &str) -> bool {
    POLICIES.iter().any(|p| p.name == name)
}

fn to_wire(p: &Policy) -> SslPolicy {
    let ciphers: Vec<&str> = p.ciphers.iter().flat_map(|g| g.iter().copied()).collect();
    SslPolicy {
        ssl_protocols: Some(p.protocols.iter().map(|s| s.to_string()).collect()),
        ciphers: Some(
            ciphers
                .iter()
                .enumerate()
                .map(|(i, name)| Cipher {
                    name: Some(name.to_string()),
                    priority: i32::try_from(i + 1).ok(),
                })
                .collect(),
        ),
        name: Some(p.name.to_string()),
        supported_load_balancer_types: Some(vec!["application".into(), "network".into()]),
    }
}

/// DescribeSSLPolicies.
pub fn describe(input: DescribeSSLPoliciesInput) -> Result<DescribeSSLPoliciesOutput, Error> {
    let names = input.names.clone().unwrap_or_default();
    if let Some(missing) = names.iter().find(|n| !exists(n)) {
        return Err(Error::SSLPolicyNotFoundException(format!(
            "SSL policy '{missing}' not found"
        )));
    }
    if input
        .load_balancer_type
        .as_deref()
        .is_some_and(|t| t == "gateway")
    {
        return Ok(DescribeSSLPoliciesOutput {
            ssl_policies: Some(Vec::new()),
            next_marker: None,
        });
    }
    let selected: Vec<&Policy> = POLICIES
        .iter()
        .filter(|p| names.is_empty() || names.iter().any(|n| n == p.name))
        .collect();
    let (items, next) = page(
        selected,
        |p| p.name.to_string(),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeSSLPoliciesOutput {
        ssl_policies: Some(items.into_iter().map(to_wire).collect()),
        next_marker: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_exists_and_lists() {
        assert!(exists(DEFAULT_POLICY));
        assert!(!exists("ELBSecurityPolicy-Nope"));
        let all = describe(DescribeSSLPoliciesInput::default()).unwrap();
        assert_eq!(all.ssl_policies.unwrap().len(), POLICIES.len());
        let one = describe(DescribeSSLPoliciesInput {
            names: Some(vec!["ELBSecurityPolicy-TLS13-1-2-2021-06".into()]),
            ..DescribeSSLPoliciesInput::default()
        })
        .unwrap()
        .ssl_policies
        .unwrap();
        assert_eq!(
            one[0].ssl_protocols,
            Some(vec!["TLSv1.2".to_string(), "TLSv1.3".to_string()])
        );
        assert_eq!(
            one[0].ciphers.as_ref().unwrap()[0].name.as_deref(),
            Some("TLS_AES_128_GCM_SHA256")
        );
        assert!(matches!(
            describe(DescribeSSLPoliciesInput {
                names: Some(vec!["nope".into()]),
                ..DescribeSSLPoliciesInput::default()
            }),
            Err(Error::SSLPolicyNotFoundException(_))
        ));
    }
}
