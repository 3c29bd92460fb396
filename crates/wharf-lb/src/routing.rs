//! Listener rules compiled for the request path: conditions with AWS's matching semantics and
//! the three actions (forward, redirect, fixed-response).
//!
//! - `path-pattern`: case-sensitive, `*` any characters (including `/`), `?` exactly one, against
//!   the path without the query string;
//! - `host-header`: case-insensitive with wildcards, against the `Host` header (or HTTP/2
//!   `:authority`) without its port;
//! - `http-header`: header name case-insensitive, value patterns case-insensitive with
//!   wildcards; any of the header's values may match;
//! - `http-request-method`: exact, case-sensitive;
//! - `query-string`: any `key=value` pair of the (percent-decoded) query matches any configured
//!   pair, case-insensitively with wildcards and `\` escapes; a missing key matches any key;
//! - `source-ip`: the client address of the connection is in any of the CIDR blocks.

use crate::pattern::{Cidr, Wildcard};
use crate::target_states::TargetGroup;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use wharf_core::lb_plane::{Action, Condition, RuleSpec};

/// What the rules look at in a request.
#[derive(Debug)]
pub(crate) struct RequestView<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    /// Host without port.
    pub(crate) host: Option<&'a str>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) client_ip: IpAddr,
}

#[derive(Debug)]
enum Cond {
    Path(Vec<Wildcard>),
    Host(Vec<Wildcard>),
    Header {
        name: HeaderName,
        values: Vec<Wildcard>,
    },
    Method(Vec<String>),
    Query(Vec<(Option<Wildcard>, Wildcard)>),
    Source(Vec<Cidr>),
}

impl Cond {
    fn compile(c: &Condition) -> Result<Self, String> {
        Ok(match c {
            Condition::PathPattern(v) => {
                Cond::Path(v.iter().map(|p| Wildcard::new(p, false, false)).collect())
            }
            Condition::HostHeader(v) => {
                Cond::Host(v.iter().map(|p| Wildcard::new(p, true, false)).collect())
            }
            Condition::HttpHeader { name, values } => Cond::Header {
                name: HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                    format!("http-header condition names an invalid header {name:?}")
                })?,
                values: values
                    .iter()
                    .map(|p| Wildcard::new(p, true, false))
                    .collect(),
            },
            Condition::HttpRequestMethod(v) => Cond::Method(v.clone()),
            Condition::QueryString(pairs) => Cond::Query(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_deref().map(|k| Wildcard::new(k, true, true)),
                            Wildcard::new(v, true, true),
                        )
                    })
                    .collect(),
            ),
            Condition::SourceIp(v) => {
                Cond::Source(v.iter().map(|c| Cidr::parse(c)).collect::<Result<_, _>>()?)
            }
        })
    }

    fn matches(&self, r: &RequestView<'_>) -> bool {
        match self {
            Cond::Path(ps) => ps.iter().any(|p| p.matches(r.path.as_bytes())),
            Cond::Host(ps) => r
                .host
                .is_some_and(|h| ps.iter().any(|p| p.matches(h.as_bytes()))),
            Cond::Header { name, values } => r
                .headers
                .get_all(name)
                .iter()
                .any(|v| values.iter().any(|p| p.matches(v.as_bytes()))),
            Cond::Method(ms) => ms.iter().any(|m| m == r.method),
            Cond::Query(pairs) => r.query.is_some_and(|q| {
                form_urlencoded::parse(q.as_bytes()).any(|(k, v)| {
                    pairs.iter().any(|(pk, pv)| {
                        pk.as_ref().is_none_or(|pk| pk.matches(k.as_bytes()))
                            && pv.matches(v.as_bytes())
                    })
                })
            }),
            Cond::Source(cidrs) => cidrs.iter().any(|c| c.contains(r.client_ip)),
        }
    }
}

/// A target group a forward action names, with its weight.
#[derive(Debug)]
pub(crate) struct WeightedGroup {
    /// `None` when the snapshot names no such group: requests get 503.
    pub(crate) group: Option<Arc<TargetGroup>>,
    pub(crate) weight: u32,
    /// Cookie identity of the group (hash of its ARN).
    pub(crate) key: u64,
}

/// A forward action.
#[derive(Debug)]
pub(crate) struct Forward {
    pub(crate) groups: Vec<WeightedGroup>,
    total_weight: u64,
    /// Group stickiness (`AWSALBTG` cookie) duration.
    pub(crate) stickiness: Option<Duration>,
}

impl Forward {
    /// Picks a group: the sticky one if the cookie names a group with weight, else at random
    /// by weight (per request, as ALB's weighted target groups).
    pub(crate) fn choose(&self, sticky: Option<u64>) -> Option<&WeightedGroup> {
        if self.groups.len() == 1 {
            return self.groups.first();
        }
        if let Some(key) = sticky {
            if let Some(g) = self.groups.iter().find(|g| g.key == key && g.weight > 0) {
                return Some(g);
            }
        }
        if self.total_weight == 0 {
            return self.groups.first();
        }
        let mut r = rand::random::<u64>() % self.total_weight;
        for g in &self.groups {
            let w = u64::from(g.weight);
            if r < w {
                return Some(g);
            }
            r -= w;
        }
        self.groups.last()
    }
}

/// One piece of a redirect component.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Protocol,
    Host,
    Port,
    Path,
    Query,
}

/// A redirect component with `#{...}` placeholders, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template(Vec<Seg>);

impl Template {
    fn compile(text: &str) -> Self {
        let mut segs = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("#{") {
            let Some(end) = rest[i..].find('}') else {
                break;
            };
            let name = &rest[i + 2..i + end];
            let seg = match name {
                "protocol" => Some(Seg::Protocol),
                "host" => Some(Seg::Host),
                "port" => Some(Seg::Port),
                "path" => Some(Seg::Path),
                "query" => Some(Seg::Query),
                _ => None,
            };
            match seg {
                Some(seg) => {
                    if i > 0 {
                        segs.push(Seg::Lit(rest[..i].to_string()));
                    }
                    segs.push(seg);
                }
                None => segs.push(Seg::Lit(rest[..i + end + 1].to_string())),
            }
            rest = &rest[i + end + 1..];
        }
        if !rest.is_empty() {
            segs.push(Seg::Lit(rest.to_string()));
        }
        Self(segs)
    }

    fn render(&self, ctx: &RedirectContext<'_>, out: &mut String) {
        for seg in &self.0 {
            match seg {
                Seg::Lit(s) => out.push_str(s),
                Seg::Protocol => out.push_str(ctx.protocol),
                Seg::Host => out.push_str(ctx.host),
                Seg::Port => out.push_str(&ctx.port.to_string()),
                Seg::Path => out.push_str(ctx.path.strip_prefix('/').unwrap_or(ctx.path)),
                Seg::Query => out.push_str(ctx.query),
            }
        }
    }
}

/// The original request's URI components, for redirect placeholders.
#[derive(Debug)]
pub(crate) struct RedirectContext<'a> {
    /// `HTTP` or `HTTPS`.
    pub(crate) protocol: &'a str,
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
}

/// A redirect action.
#[derive(Debug)]
pub(crate) struct Redirect {
    protocol: Template,
    host: Template,
    port: Template,
    path: Template,
    query: Template,
    pub(crate) status: StatusCode,
}

impl Redirect {
    /// The `Location` for a request.
    pub(crate) fn location(&self, ctx: &RedirectContext<'_>) -> String {
        let mut protocol = String::new();
        self.protocol.render(ctx, &mut protocol);
        let protocol = protocol.to_ascii_lowercase();
        let mut host = String::new();
        self.host.render(ctx, &mut host);
        let mut port = String::new();
        self.port.render(ctx, &mut port);
        let mut path = String::new();
        self.path.render(ctx, &mut path);
        let mut query = String::new();
        self.query.render(ctx, &mut query);
        let mut out =
            String::with_capacity(protocol.len() + host.len() + path.len() + query.len() + 16);
        out.push_str(&protocol);
        out.push_str("://");
        out.push_str(&host);
        // ALB writes the port even when it is the protocol's default
        // (`https://example.com:443/`).
        if !port.is_empty() {
            out.push(':');
            out.push_str(&port);
        }
        if !path.starts_with('/') {
            out.push('/');
        }
        out.push_str(&path);
        if !query.is_empty() {
            out.push('?');
            out.push_str(&query);
        }
        out
    }
}

/// A fixed-response action.
#[derive(Debug)]
pub(crate) struct Fixed {
    pub(crate) status: StatusCode,
    pub(crate) content_type: HeaderValue,
    pub(crate) body: Bytes,
}

/// A rule's action, compiled.
#[derive(Debug)]
pub(crate) enum RuleAction {
    Forward(Forward),
    Redirect(Redirect),
    Fixed(Fixed),
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    conditions: Vec<Cond>,
    pub(crate) action: RuleAction,
}

impl Rule {
    /// Compiles `spec`; `group` resolves target group ARNs.
    pub(crate) fn compile(
        spec: &RuleSpec,
        group: &dyn Fn(&str) -> Option<Arc<TargetGroup>>,
    ) -> Result<Self, String> {
        let conditions = spec
            .conditions
            .iter()
            .map(Cond::compile)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("rule {}: {e}", spec.arn))?;
        let action = match &spec.action {
            Action::Forward {
                target_groups,
                stickiness,
            } => {
                let groups: Vec<WeightedGroup> = target_groups
                    .iter()
                    .map(|(arn, weight)| WeightedGroup {
                        group: group(arn),
                        weight: *weight,
                        key: crate::target_states::stable_hash(&[arn.as_bytes()]),
                    })
                    .collect();
                if groups.is_empty() {
                    return Err(format!(
                        "rule {}: forward action names no target group",
                        spec.arn
                    ));
                }
                RuleAction::Forward(Forward {
                    total_weight: groups.iter().map(|g| u64::from(g.weight)).sum(),
                    groups,
                    stickiness: *stickiness,
                })
            }
            Action::Redirect {
                protocol,
                host,
                port,
                path,
                query,
                status_code,
            } => RuleAction::Redirect(Redirect {
                protocol: Template::compile(protocol),
                host: Template::compile(host),
                port: Template::compile(port),
                path: Template::compile(path),
                query: Template::compile(query),
                status: match status_code {
                    301 => StatusCode::MOVED_PERMANENTLY,
                    _ => StatusCode::FOUND,
                },
            }),
            Action::FixedResponse {
                status_code,
                content_type,
                body,
            } => RuleAction::Fixed(Fixed {
                status: StatusCode::from_u16(*status_code).map_err(|_| {
                    format!(
                        "rule {}: fixed-response status {status_code} is invalid",
                        spec.arn
                    )
                })?,
                content_type: HeaderValue::from_str(
                    content_type
                        .as_deref()
                        .unwrap_or("text/plain; charset=utf-8"),
                )
                .map_err(|_| {
                    format!("rule {}: fixed-response content type is invalid", spec.arn)
                })?,
                body: Bytes::from(body.clone().unwrap_or_default()),
            }),
        };
        Ok(Self { conditions, action })
    }

    /// Whether every condition matches.
    pub(crate) fn matches(&self, r: &RequestView<'_>) -> bool {
        self.conditions.iter().all(|c| c.matches(r))
    }
}

/// The action of the first rule that matches.
pub(crate) fn route<'r>(rules: &'r [Rule], r: &RequestView<'_>) -> Option<&'r RuleAction> {
    rules
        .iter()
        .find(|rule| rule.matches(r))
        .map(|rule| &rule.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(conditions: Vec<Condition>, body: &str) -> Rule {
        Rule::compile(
            &RuleSpec {
                arn: format!("arn:rule/{body}"),
                priority: Some(1),
                conditions,
                action: Action::FixedResponse {
                    status_code: 200,
                    content_type: None,
                    body: Some(body.into()),
                },
            },
            &|_| None,
        )
        .unwrap()
    }

    fn body(a: Option<&RuleAction>) -> Option<String> {
        match a {
            Some(RuleAction::Fixed(f)) => Some(String::from_utf8_lossy(&f.body).into_owned()),
            _ => None,
        }
    }

    fn view<'a>(
        method: &'a str,
        path: &'a str,
        query: Option<&'a str>,
        host: Option<&'a str>,
        headers: &'a HeaderMap,
    ) -> RequestView<'a> {
        RequestView {
            method,
            path,
            query,
            host,
            headers,
            client_ip: "192.168.1.20".parse().unwrap(),
        }
    }

    #[test]
    fn rules_in_order_with_every_condition_type() {
        let rules = vec![
            rule(vec![Condition::PathPattern(vec!["/api/*".into()])], "api"),
            rule(
                vec![Condition::HostHeader(vec!["*.Example.com".into()])],
                "host",
            ),
            rule(
                vec![Condition::HttpHeader {
                    name: "X-Env".into(),
                    values: vec!["stag?ng".into()],
                }],
                "header",
            ),
            rule(
                vec![Condition::HttpRequestMethod(vec!["DELETE".into()])],
                "method",
            ),
            rule(
                vec![Condition::QueryString(vec![
                    (Some("v".into()), "b*".into()),
                    (None, "x".into()),
                ])],
                "query",
            ),
            rule(
                vec![Condition::SourceIp(vec!["192.168.0.0/16".into()])],
                "source",
            ),
            rule(vec![], "default"),
        ];
        let h = HeaderMap::new();
        assert_eq!(
            body(route(&rules, &view("GET", "/api/x", None, None, &h))).unwrap(),
            "api"
        );
        assert_eq!(
            body(route(
                &rules,
                &view("GET", "/", None, Some("a.EXAMPLE.com"), &h)
            ))
            .unwrap(),
            "host"
        );
        let mut hv = HeaderMap::new();
        hv.insert("x-env", HeaderValue::from_static("STAGING"));
        assert_eq!(
            body(route(&rules, &view("GET", "/", None, None, &hv))).unwrap(),
            "header"
        );
        assert_eq!(
            body(route(&rules, &view("DELETE", "/", None, None, &h))).unwrap(),
            "method"
        );
        assert_eq!(
            body(route(&rules, &view("delete", "/", Some("a=1"), None, &h))).unwrap(),
            "source"
        );
        assert_eq!(
            body(route(
                &rules,
                &view("GET", "/", Some("a=1&v=Beta"), None, &h)
            ))
            .unwrap(),
            "query"
        );
        assert_eq!(
            body(route(&rules, &view("GET", "/", Some("k=x"), None, &h))).unwrap(),
            "query"
        );
        let mut other = view("GET", "/API/x", None, None, &h);
        other.client_ip = "10.0.0.1".parse().unwrap();
        assert_eq!(body(route(&rules, &other)).unwrap(), "default");
    }

    #[test]
    fn redirect_placeholders() {
        let r = Rule::compile(
            &RuleSpec {
                arn: "arn:rule/r".into(),
                priority: None,
                conditions: vec![],
                action: Action::Redirect {
                    protocol: "HTTPS".into(),
                    host: "#{host}".into(),
                    port: "443".into(),
                    path: "/#{path}".into(),
                    query: "#{query}".into(),
                    status_code: 301,
                },
            },
            &|_| None,
        )
        .unwrap();
        let RuleAction::Redirect(r) = &r.action else {
            panic!()
        };
        let ctx = RedirectContext {
            protocol: "HTTP",
            host: "app.example.com",
            port: 80,
            path: "/a/b",
            query: "x=1",
        };
        assert_eq!(r.location(&ctx), "https://app.example.com:443/a/b?x=1");
        assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
        let t = Template::compile("#{protocol}-#{port}-#{nope}");
        let mut out = String::new();
        t.render(&ctx, &mut out);
        assert_eq!(out, "HTTP-80-#{nope}");
        let keep = Redirect {
            protocol: Template::compile("#{protocol}"),
            host: Template::compile("other"),
            port: Template::compile("#{port}"),
            path: Template::compile("/new/#{path}"),
            query: Template::compile(""),
            status: StatusCode::FOUND,
        };
        let ctx2 = RedirectContext {
            port: 8080,
            query: "",
            ..ctx
        };
        assert_eq!(keep.location(&ctx2), "http://other:8080/new/a/b");
    }

    #[test]
    fn weighted_choice_is_roughly_proportional() {
        let g = |w, k| WeightedGroup {
            group: None,
            weight: w,
            key: k,
        };
        let f = Forward {
            groups: vec![g(1, 1), g(3, 2), g(0, 3)],
            total_weight: 4,
            stickiness: None,
        };
        let mut counts = [0u32; 3];
        for _ in 0..4000 {
            let k = f.choose(None).unwrap().key;
            counts[usize::try_from(k - 1).unwrap()] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!((800..1200).contains(&counts[0]), "{counts:?}");
        assert_eq!(f.choose(Some(2)).unwrap().key, 2);
        assert_ne!(
            f.choose(Some(3)).map(|g| g.key),
            Some(3),
            "weight 0 is never sticky"
        );
    }
}
