//! Listeners: CreateListener, ModifyListener, DeleteListener, DescribeListeners and the
//! certificate operations (AddListenerCertificates, RemoveListenerCertificates,
//! DescribeListenerCertificates).
//!
//! HTTP and HTTPS listeners on ports 1-65535, one per port per load balancer
//! (`DuplicateListener`; the same settings again return the existing listener, as AWS's
//! CreateListener is idempotent). HTTPS needs a default certificate that exists in ACM
//! (`CertificateNotFound`) and takes `ELBSecurityPolicy-2016-08` unless another policy is named;
//! more certificates, chosen by SNI, come with AddListenerCertificates. Forward actions must
//! name target groups of the load balancer's VPC that no other load balancer uses
//! (`TargetGroupAssociationLimit`). Changes that alter a listener are applied to the data plane
//! inside their transaction (see [`crate::Elbv2`]).

use crate::errors::{invalid, listener_not_found};
use crate::generated::*;
use crate::lookup::{key_in_scope, load_lb, load_listener, usage, Kind, Usage};
use crate::paging::page;
use crate::records::{StoredListener, StoredLoadBalancer, LISTENERS, RULES};
use crate::{actions, names, ssl_policies, tags, target_groups, Elbv2};
use wharf_core::RequestContext;
use wharf_store::Tx;

/// Most listeners per load balancer (AWS's quota).
const MAX_LISTENERS: usize = 50;
/// Most certificates per listener besides the default one (AWS's default quota).
const MAX_CERTIFICATES: usize = 25;

impl StoredListener {
    /// The listener as Create / Describe answer.
    pub(crate) fn to_wire(&self) -> Listener {
        let https = self.protocol == "HTTPS";
        Listener {
            listener_arn: Some(self.arn.clone()),
            load_balancer_arn: Some(self.lb_arn.clone()),
            port: Some(i32::from(self.port)),
            protocol: Some(self.protocol.clone()),
            certificates: self.default_certificate.as_ref().map(|c| {
                vec![Certificate {
                    certificate_arn: Some(c.clone()),
                    is_default: None,
                }]
            }),
            ssl_policy: if https { self.ssl_policy.clone() } else { None },
            default_actions: Some(self.default_actions.clone()),
            mutual_authentication: https.then(|| MutualAuthenticationAttributes {
                mode: Some("off".into()),
                ..MutualAuthenticationAttributes::default()
            }),
            ..Listener::default()
        }
    }
}

/// Checks that the target groups `actions` forward to exist, are in the load balancer's VPC
/// and are used by no other load balancer.
pub(crate) fn check_forward_targets(
    tx: &Tx<'_>,
    ctx: &RequestContext,
    lb: &StoredLoadBalancer,
    actions: &[Action],
    used: &Usage,
) -> Result<(), Error> {
    for arn in actions::target_groups(actions) {
        let tg = target_groups::require(tx, ctx, &arn)?;
        if tg.vpc_id != lb.vpc_id {
            return Err(Error::InvalidConfigurationRequestException(format!(
                "Target group '{arn}' is in a different VPC than load balancer '{}'",
                lb.arn
            )));
        }
        if used.lbs_of(&arn).iter().any(|other| *other != lb.arn) {
            return Err(Error::TargetGroupAssociationLimitException(format!(
                "The following target groups cannot be associated with more than one load balancer: {arn}"
            )));
        }
    }
    Ok(())
}

/// Checks that certificate `arn` exists in ACM (and is issued), in the caller's account and
/// region.
fn check_certificate(elbv2: &Elbv2, ctx: &RequestContext, arn: &str) -> Result<(), Error> {
    let here = wharf_core::Arn::parse(arn)
        .is_some_and(|a| a.account == ctx.account_id && a.region == ctx.region);
    if here && elbv2.certificates.certificate(arn).is_some() {
        Ok(())
    } else {
        Err(Error::CertificateNotFoundException(format!(
            "Certificate '{arn}' not found"
        )))
    }
}

/// The one default certificate a Create/ModifyListener names.
fn default_certificate(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    certs: &[Certificate],
) -> Result<String, Error> {
    if certs.len() > 1 {
        return Err(Error::TooManyCertificatesException(
            "A listener can have only one default certificate; add more with AddListenerCertificates"
                .into(),
        ));
    }
    let arn = certs
        .first()
        .and_then(|c| c.certificate_arn.clone())
        .ok_or_else(|| invalid("A certificate must be specified for HTTPS listeners"))?;
    check_certificate(elbv2, ctx, &arn)?;
    Ok(arn)
}

fn check_protocol(protocol: &str) -> Result<(), Error> {
    match protocol {
        "HTTP" | "HTTPS" => Ok(()),
        other => Err(Error::UnsupportedProtocolException(format!(
            "Protocol '{other}' is not supported by application load balancers; use HTTP or HTTPS"
        ))),
    }
}

fn check_port(port: i32) -> Result<u16, Error> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(format!("The port '{port}' must be from 1 to 65535")))
}

fn check_extras(
    alpn: Option<&Vec<String>>,
    mutual: Option<&MutualAuthenticationAttributes>,
) -> Result<(), Error> {
    if alpn.is_some_and(|a| !a.is_empty()) {
        return Err(Error::ALPNPolicyNotSupportedException(
            "ALPN policies are not supported by application load balancers".into(),
        ));
    }
    if mutual.is_some_and(|m| m.mode.as_deref().is_some_and(|mode| mode != "off")) {
        return Err(invalid(
            "wharf does not support mutual TLS authentication on listeners; use Mode=off",
        ));
    }
    Ok(())
}

/// The listeners of load balancer `lb_key`.
fn listeners_of(tx: &Tx<'_>, lb_key: &str) -> Result<Vec<(String, StoredListener)>, Error> {
    Ok(tx.list(LISTENERS, &format!("{lb_key}/"))?)
}

/// CreateListener.
pub fn create(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: CreateListenerInput,
) -> Result<CreateListenerOutput, Error> {
    let protocol = input
        .protocol
        .clone()
        .ok_or_else(|| invalid("A listener protocol must be specified"))?;
    check_protocol(&protocol)?;
    let port = check_port(
        input
            .port
            .ok_or_else(|| invalid("A listener port must be specified"))?,
    )?;
    check_extras(
        input.alpn_policy.as_ref(),
        input.mutual_authentication.as_ref(),
    )?;
    let https = protocol == "HTTPS";
    let (certificate, ssl_policy) = if https {
        let cert = default_certificate(
            elbv2,
            ctx,
            input.certificates.as_deref().unwrap_or_default(),
        )?;
        let policy = input
            .ssl_policy
            .clone()
            .unwrap_or_else(|| ssl_policies::DEFAULT_POLICY.into());
        if !ssl_policies::exists(&policy) {
            return Err(Error::SSLPolicyNotFoundException(format!(
                "SSL policy '{policy}' not found"
            )));
        }
        (Some(cert), Some(policy))
    } else {
        if input.certificates.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(invalid(
                "Certificates can only be specified for HTTPS listeners",
            ));
        }
        if input.ssl_policy.is_some() {
            return Err(invalid(
                "An SSL policy can only be specified for HTTPS listeners",
            ));
        }
        (None, None)
    };
    let default_actions = actions::normalize(&input.default_actions)?;
    let tags = tags::merge(&[], input.tags.as_deref().unwrap_or_default())?;
    let lb_arn = input.load_balancer_arn.clone();

    let (listener, created) = elbv2.write_listeners(|tx| {
        let (lb_key, lb) = load_lb(tx, ctx, &lb_arn)?;
        let existing = listeners_of(tx, &lb_key)?;
        if let Some((_, same_port)) = existing.iter().find(|(_, l)| l.port == port) {
            let identical = same_port.protocol == protocol
                && same_port.default_certificate == certificate
                && same_port.ssl_policy == ssl_policy
                && same_port.default_actions == default_actions;
            if identical {
                return Ok((same_port.clone(), false));
            }
            return Err(Error::DuplicateListenerException(format!(
                "A listener already exists on this port for this load balancer '{lb_arn}'"
            )));
        }
        if existing.len() >= MAX_LISTENERS {
            return Err(Error::TooManyListenersException(format!(
                "You've reached the limit on the number of listeners per load balancer ({MAX_LISTENERS})"
            )));
        }
        let used = usage(tx, &ctx.account_id, &ctx.region)?;
        check_forward_targets(tx, ctx, &lb, &default_actions, &used)?;
        let id = elbv2.ids.hex(16);
        let arn = names::listener_arn(&lb.arn, &id);
        let listener = StoredListener {
            default_rule_arn: names::rule_arn(&arn, &elbv2.ids.hex(16)),
            arn,
            id: id.clone(),
            lb_arn: lb.arn.clone(),
            port,
            protocol: protocol.clone(),
            ssl_policy: ssl_policy.clone(),
            default_certificate: certificate.clone(),
            certificates: Vec::new(),
            default_actions: default_actions.clone(),
            tags: tags.clone(),
            default_rule_tags: Vec::new(),
        };
        tx.put(LISTENERS, &format!("{lb_key}/{id}"), &listener)?;
        Ok((listener, true))
    })?;
    if created {
        tracing::info!(arn = %listener.arn, port, %protocol, "created listener");
    }
    Ok(CreateListenerOutput {
        listeners: Some(vec![listener.to_wire()]),
    })
}

/// ModifyListener: port, protocol, default certificate, TLS policy, default actions.
pub fn modify(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: ModifyListenerInput,
) -> Result<ModifyListenerOutput, Error> {
    if let Some(p) = &input.protocol {
        check_protocol(p)?;
    }
    let new_port = input.port.map(check_port).transpose()?;
    check_extras(
        input.alpn_policy.as_ref(),
        input.mutual_authentication.as_ref(),
    )?;
    let new_certificate = match input.certificates.as_deref() {
        Some(certs) if !certs.is_empty() => Some(default_certificate(elbv2, ctx, certs)?),
        _ => None,
    };
    if let Some(policy) = &input.ssl_policy {
        if !ssl_policies::exists(policy) {
            return Err(Error::SSLPolicyNotFoundException(format!(
                "SSL policy '{policy}' not found"
            )));
        }
    }
    let new_actions = input
        .default_actions
        .as_deref()
        .map(actions::normalize)
        .transpose()?;
    let listener = elbv2.write_listeners(|tx| {
        let (key, mut listener) = load_listener(tx, ctx, &input.listener_arn)?;
        let lb_key = key
            .rsplit_once('/')
            .map(|(k, _)| k)
            .unwrap_or_default()
            .to_string();
        let (_, lb) = load_lb(tx, ctx, &listener.lb_arn)?;
        if let Some(port) = new_port {
            let clash = listeners_of(tx, &lb_key)?
                .into_iter()
                .any(|(_, l)| l.port == port && l.arn != listener.arn);
            if clash {
                return Err(Error::DuplicateListenerException(format!(
                    "A listener already exists on this port for this load balancer '{}'",
                    lb.arn
                )));
            }
            listener.port = port;
        }
        if let Some(protocol) = &input.protocol {
            listener.protocol = protocol.clone();
        }
        if listener.protocol == "HTTPS" {
            if let Some(cert) = &new_certificate {
                listener.default_certificate = Some(cert.clone());
            }
            if listener.default_certificate.is_none() {
                return Err(invalid(
                    "A certificate must be specified for HTTPS listeners",
                ));
            }
            if let Some(policy) = &input.ssl_policy {
                listener.ssl_policy = Some(policy.clone());
            }
            if listener.ssl_policy.is_none() {
                listener.ssl_policy = Some(ssl_policies::DEFAULT_POLICY.into());
            }
        } else {
            if new_certificate.is_some() {
                return Err(invalid(
                    "Certificates can only be specified for HTTPS listeners",
                ));
            }
            if input.ssl_policy.is_some() {
                return Err(invalid(
                    "An SSL policy can only be specified for HTTPS listeners",
                ));
            }
            listener.default_certificate = None;
            listener.certificates.clear();
            listener.ssl_policy = None;
        }
        if let Some(actions) = &new_actions {
            let used = usage(tx, &ctx.account_id, &ctx.region)?;
            check_forward_targets(tx, ctx, &lb, actions, &used)?;
            listener.default_actions = actions.clone();
        }
        tx.put(LISTENERS, &key, &listener)?;
        Ok(listener)
    })?;
    Ok(ModifyListenerOutput {
        listeners: Some(vec![listener.to_wire()]),
    })
}

/// DeleteListener, with its rules.
pub fn delete(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    arn: &str,
) -> Result<DeleteListenerOutput, Error> {
    elbv2.write(|tx| {
        let (key, _) = load_listener(tx, ctx, arn)?;
        for (k, _) in tx.list(RULES, &format!("{key}/"))? {
            tx.delete(RULES, &k)?;
        }
        tx.delete(LISTENERS, &key)?;
        Ok(())
    })?;
    tracing::info!(%arn, "deleted listener");
    Ok(DeleteListenerOutput {})
}

/// DescribeListeners: of a load balancer, or by ARNs.
pub fn describe(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeListenersInput,
) -> Result<DescribeListenersOutput, Error> {
    let arns = input.listener_arns.clone().unwrap_or_default();
    let mut found: Vec<StoredListener> =
        elbv2
            .store
            .read(|tx| match (&input.load_balancer_arn, arns.is_empty()) {
                (Some(_), false) => Err(invalid(
                    "Listener ARNs and a load balancer ARN cannot be specified at the same time",
                )),
                (None, true) => Err(invalid(
                    "You must specify either listener ARNs or a load balancer ARN",
                )),
                (Some(lb_arn), true) => {
                    let (lb_key, _) = load_lb(tx, ctx, lb_arn)?;
                    Ok(listeners_of(tx, &lb_key)?
                        .into_iter()
                        .map(|(_, l)| l)
                        .collect())
                }
                (None, false) => {
                    let mut out = Vec::new();
                    for arn in &arns {
                        let key = key_in_scope(ctx, arn, Kind::Listener)?
                            .ok_or_else(|| listener_not_found(arn))?;
                        let l: StoredListener = tx
                            .get(LISTENERS, &key)?
                            .filter(|l: &StoredListener| &l.arn == arn)
                            .ok_or_else(|| {
                                Error::ListenerNotFoundException(
                                    "One or more listeners not found".into(),
                                )
                            })?;
                        out.push(l);
                    }
                    Ok(out)
                }
            })?;
    found.sort_by(|a, b| a.port.cmp(&b.port).then(a.arn.cmp(&b.arn)));
    found.dedup_by(|a, b| a.arn == b.arn);
    let (items, next) = page(
        found,
        |l| format!("{:05}/{}", l.port, l.arn),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeListenersOutput {
        listeners: Some(items.iter().map(StoredListener::to_wire).collect()),
        next_marker: next,
    })
}

fn extra_certificates(listener: &StoredListener) -> Vec<Certificate> {
    listener
        .certificates
        .iter()
        .map(|c| Certificate {
            certificate_arn: Some(c.clone()),
            is_default: Some(false),
        })
        .collect()
}

/// AddListenerCertificates: certificates chosen by SNI.
pub fn add_certificates(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: AddListenerCertificatesInput,
) -> Result<AddListenerCertificatesOutput, Error> {
    let mut wanted = Vec::new();
    for c in &input.certificates {
        if c.is_default == Some(true) {
            return Err(invalid(
                "The default certificate cannot be added with AddListenerCertificates; use ModifyListener",
            ));
        }
        let arn = c
            .certificate_arn
            .clone()
            .ok_or_else(|| invalid("Each certificate requires a CertificateArn"))?;
        check_certificate(elbv2, ctx, &arn)?;
        wanted.push(arn);
    }
    let listener = elbv2.write_listeners(|tx| {
        let (key, mut listener) = load_listener(tx, ctx, &input.listener_arn)?;
        if listener.protocol != "HTTPS" {
            return Err(invalid(format!(
                "Certificates can only be added to HTTPS listeners; listener '{}' is {}",
                listener.arn, listener.protocol
            )));
        }
        for arn in &wanted {
            if listener.default_certificate.as_ref() != Some(arn) && !listener.certificates.contains(arn) {
                listener.certificates.push(arn.clone());
            }
        }
        if listener.certificates.len() > MAX_CERTIFICATES {
            return Err(Error::TooManyCertificatesException(format!(
                "A listener can have at most {MAX_CERTIFICATES} certificates besides the default one"
            )));
        }
        tx.put(LISTENERS, &key, &listener)?;
        Ok(listener)
    })?;
    Ok(AddListenerCertificatesOutput {
        certificates: Some(extra_certificates(&listener)),
    })
}

/// RemoveListenerCertificates (never the default certificate).
pub fn remove_certificates(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: RemoveListenerCertificatesInput,
) -> Result<RemoveListenerCertificatesOutput, Error> {
    elbv2.write_listeners(|tx| {
        let (key, mut listener) = load_listener(tx, ctx, &input.listener_arn)?;
        for c in &input.certificates {
            let Some(arn) = &c.certificate_arn else { continue };
            if listener.default_certificate.as_ref() == Some(arn) {
                return Err(Error::OperationNotPermittedException(format!(
                    "The default certificate '{arn}' cannot be removed from a listener; replace it with ModifyListener"
                )));
            }
            listener.certificates.retain(|x| x != arn);
        }
        tx.put(LISTENERS, &key, &listener)?;
        Ok(())
    })?;
    Ok(RemoveListenerCertificatesOutput {})
}

/// DescribeListenerCertificates: the default one (`IsDefault`) and the SNI ones.
pub fn describe_certificates(
    elbv2: &Elbv2,
    ctx: &RequestContext,
    input: DescribeListenerCertificatesInput,
) -> Result<DescribeListenerCertificatesOutput, Error> {
    let (_, listener) = elbv2
        .store
        .read(|tx| load_listener(tx, ctx, &input.listener_arn))?;
    let mut all: Vec<(usize, Certificate)> = Vec::new();
    if let Some(default) = &listener.default_certificate {
        all.push((
            0,
            Certificate {
                certificate_arn: Some(default.clone()),
                is_default: Some(true),
            },
        ));
    }
    all.extend(
        extra_certificates(&listener)
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i + 1, c)),
    );
    let (items, next) = page(
        all,
        |(i, _)| format!("{i:05}"),
        input.marker.as_deref(),
        input.page_size,
    )?;
    Ok(DescribeListenerCertificatesOutput {
        certificates: Some(items.into_iter().map(|(_, c)| c).collect()),
        next_marker: next,
    })
}
