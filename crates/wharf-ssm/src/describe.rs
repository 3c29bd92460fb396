//! DescribeParameters: the parameters' metadata, never their values, filtered by the legacy
//! `Filters` (Name begins with, Type, KeyId) or by `ParameterFilters` (see `filters`), sorted
//! by name and paginated (`MaxResults` 1-50).

use crate::filters::{self, Usage};
use crate::generated::*;
use crate::lookup::live;
use crate::names;
use crate::parameters::policies_view;
use crate::records::{self, StoredParameter, PARAMETERS};
use crate::Ssm;
use wharf_core::pagination::paginate;
use wharf_core::RequestContext;

/// Page size when `MaxResults` is not given.
const DEFAULT_MAX: usize = 50;

/// Whether `param` passes the legacy `Filters` (all of them; any value of each).
fn legacy_match(filters: &[ParametersFilter], param: &StoredParameter) -> bool {
    let current = param.current();
    filters.iter().all(|f| match f.key.as_str() {
        "Name" => f.values.iter().any(|v| param.name.starts_with(v.as_str())),
        "Type" => f.values.contains(&current.kind),
        "KeyId" => current
            .key_id
            .as_ref()
            .is_some_and(|k| f.values.contains(k)),
        _ => false,
    })
}

/// DescribeParameters.
pub fn describe(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: DescribeParametersRequest,
) -> Result<DescribeParametersResult, Error> {
    let legacy = input.filters.clone().unwrap_or_default();
    let string_filters = input.parameter_filters.clone().unwrap_or_default();
    if !legacy.is_empty() && !string_filters.is_empty() {
        return Err(Error::ValidationException(
            "You can use either Filters or ParameterFilters in a single request.".into(),
        ));
    }
    let filters = filters::check(&string_filters, Usage::Describe)?;
    let max = match input.max_results {
        Some(n) => usize::try_from(n).unwrap_or(DEFAULT_MAX),
        None => DEFAULT_MAX,
    };
    // Parameters shared with this account by others: wharf has no sharing.
    let candidates: Vec<(String, StoredParameter)> = if input.shared == Some(true) {
        Vec::new()
    } else {
        let prefix = records::prefix(&ctx.account_id, &ctx.region);
        ssm.store.read(|tx| tx.list(PARAMETERS, &prefix))?
    };
    let matching: Vec<StoredParameter> = candidates
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| live(p, ctx.now))
        .filter(|p| legacy_match(&legacy, p))
        .filter(|p| filters.iter().all(|f| f.matches(p, p.current())))
        .collect();
    let (page, next) = paginate(
        matching,
        |p| p.name.clone(),
        input.next_token.as_deref(),
        max,
    )
    .map_err(|_| Error::InvalidNextToken("The NextToken is not valid.".into()))?;
    let parameters = page
        .iter()
        .map(|p| {
            let v = p.current();
            ParameterMetadata {
                name: Some(p.name.clone()),
                arn: Some(names::arn(&ctx.account_id, &ctx.region, &p.name)),
                r#type: Some(v.kind.clone()),
                key_id: v.key_id.clone(),
                last_modified_date: Some(v.last_modified),
                last_modified_user: Some(v.last_modified_user.clone()),
                description: v.description.clone(),
                allowed_pattern: v.allowed_pattern.clone(),
                version: Some(v.version),
                tier: Some(v.tier.clone()),
                policies: Some(policies_view(&v.policies)),
                data_type: Some(v.data_type.clone()),
            }
        })
        .collect();
    Ok(DescribeParametersResult {
        parameters: Some(parameters),
        next_token: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parameters::{put, tests::*};

    fn names_of(r: DescribeParametersResult) -> Vec<String> {
        r.parameters
            .unwrap()
            .into_iter()
            .map(|p| p.name.unwrap())
            .collect()
    }

    #[test]
    fn metadata_without_values_filters_and_pages() {
        let (_d, ssm, _c, ctx) = setup();
        for (name, kind) in [
            ("/app/db/host", "String"),
            ("/app/db/password", "SecureString"),
            ("/app/list", "StringList"),
            ("plain", "String"),
        ] {
            put(
                &ssm,
                &ctx,
                PutParameterRequest {
                    description: Some(format!("about {name}")),
                    ..put_req(name, "do-not-show-this-value", Some(kind))
                },
            )
            .unwrap();
        }
        let all = describe(&ssm, &ctx, DescribeParametersRequest::default()).unwrap();
        let text = serde_json::to_string(&all).unwrap();
        assert!(!text.contains("do-not-show-this-value"), "{text}");
        let meta = all.parameters.clone().unwrap();
        assert_eq!(meta.len(), 4);
        let pw = &meta[1];
        assert_eq!(pw.name.as_deref(), Some("/app/db/password"));
        assert_eq!(pw.key_id.as_deref(), Some("alias/aws/ssm"));
        assert_eq!(pw.tier.as_deref(), Some("Standard"));
        assert_eq!(pw.version, Some(1));
        assert_eq!(pw.policies, Some(vec![]));
        assert_eq!(
            pw.last_modified_user.as_deref(),
            Some("arn:aws:iam::123456789012:root")
        );
        assert_eq!(pw.description.as_deref(), Some("about /app/db/password"));

        let with = |filters: Vec<ParameterStringFilter>| {
            names_of(
                describe(
                    &ssm,
                    &ctx,
                    DescribeParametersRequest {
                        parameter_filters: Some(filters),
                        ..Default::default()
                    },
                )
                .unwrap(),
            )
        };
        let f = |key: &str, option: Option<&str>, values: &[&str]| ParameterStringFilter {
            key: key.into(),
            option: option.map(str::to_string),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        };
        assert_eq!(with(vec![f("Path", None, &["/app"])]), vec!["/app/list"]);
        assert_eq!(
            with(vec![f("Path", Some("Recursive"), &["/app"])]),
            vec!["/app/db/host", "/app/db/password", "/app/list"]
        );
        assert_eq!(
            with(vec![
                f("Path", Some("Recursive"), &["/app"]),
                f("Type", None, &["SecureString"])
            ]),
            vec!["/app/db/password"]
        );
        assert_eq!(
            with(vec![f("Name", Some("Contains"), &["db"])]),
            vec!["/app/db/host", "/app/db/password"]
        );
        assert_eq!(with(vec![f("Path", None, &["/"])]), vec!["plain"]);

        let legacy = describe(
            &ssm,
            &ctx,
            DescribeParametersRequest {
                filters: Some(vec![ParametersFilter {
                    key: "Name".into(),
                    values: vec!["/app/db".into()],
                }]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(names_of(legacy), vec!["/app/db/host", "/app/db/password"]);
        let both = describe(
            &ssm,
            &ctx,
            DescribeParametersRequest {
                filters: Some(vec![ParametersFilter {
                    key: "Name".into(),
                    values: vec!["/app".into()],
                }]),
                parameter_filters: Some(vec![f("Type", None, &["String"])]),
                ..Default::default()
            },
        );
        assert_eq!(both.unwrap_err().shape(), "ValidationException");

        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = describe(
                &ssm,
                &ctx,
                DescribeParametersRequest {
                    max_results: Some(3),
                    next_token: token.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
            token = page.next_token.clone();
            seen.extend(names_of(page));
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), 4);
        let bad = describe(
            &ssm,
            &ctx,
            DescribeParametersRequest {
                next_token: Some("garbage!".into()),
                ..Default::default()
            },
        );
        assert_eq!(bad.unwrap_err().shape(), "InvalidNextToken");
    }
}
