//! The one HTTP endpoint for every AWS API: reads the service from the SigV4 credential scope
//! (falling back to `X-Amz-Target`), verifies the signature, decodes the protocol, validates the
//! input against the model, calls the service off the reactor, and encodes the answer or the
//! error exactly as botocore parses it.

use crate::protocol::json;
use crate::protocol::form::{self as query, Flavor, Params};
use crate::sigv4::{self, RequestParts, SigV4Error, SigningKeyCache};
use crate::validate::validate;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{debug, info_span, warn, Instrument};
use wharf_core::model::{Protocol, ServiceModel};
use wharf_core::{Clock, IdGen, RequestContext, ServiceError, ServiceHandler};

/// The secret behind an access key and who it belongs to.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The secret access key.
    pub secret_access_key: String,
    /// The account the key acts in.
    pub account_id: String,
    /// The principal (root or an assumed role).
    pub principal_arn: String,
    /// The principal's unique id.
    pub user_id: String,
    /// For temporary credentials, the session token requests must carry
    /// (`X-Amz-Security-Token`).
    pub session_token: Option<String>,
}

/// Where access keys are looked up.
pub trait CredentialStore: Send + Sync + 'static {
    /// The credentials of `access_key_id`, if it is known and valid now.
    fn lookup(&self, access_key_id: &str) -> Option<Credentials>;
}

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Accept any access key without checking the signature (LocalStack-style local use).
    pub accept_any_credentials: bool,
    /// The account requests act in when credentials are not checked.
    pub account_id: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

/// The API gateway.
pub struct Gateway {
    by_signing_name: HashMap<&'static str, Arc<dyn ServiceHandler>>,
    by_target_prefix: HashMap<&'static str, Arc<dyn ServiceHandler>>,
    credentials: Arc<dyn CredentialStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    keys: SigningKeyCache,
    config: GatewayConfig,
}

/// How an error is put on the wire, before we know which service was meant.
#[derive(Clone, Copy)]
enum Wire<'a> {
    Json(&'a str),
    Query(&'a str, Flavor),
}

struct WireError {
    code: String,
    message: String,
    status: StatusCode,
}

impl WireError {
    fn new(code: &str, status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            status,
        }
    }
}

impl Gateway {
    /// A gateway over `services`.
    pub fn new(
        services: Vec<Arc<dyn ServiceHandler>>,
        credentials: Arc<dyn CredentialStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        config: GatewayConfig,
    ) -> Self {
        let mut by_signing_name = HashMap::new();
        let mut by_target_prefix = HashMap::new();
        for svc in services {
            let model = svc.model();
            by_signing_name.insert(model.signing_name, svc.clone());
            if !model.target_prefix.is_empty() {
                by_target_prefix.insert(model.target_prefix, svc.clone());
            }
        }
        Self {
            by_signing_name,
            by_target_prefix,
            credentials,
            clock,
            ids,
            keys: SigningKeyCache::new(),
            config,
        }
    }

    /// Serves one HTTP request.
    pub async fn handle(self: Arc<Self>, req: Request<Body>) -> Response<Body> {
        let request_id = self.ids.uuid();
        let span = info_span!("api", request_id = %request_id, service = tracing::field::Empty, op = tracing::field::Empty);
        self.handle_inner(req, request_id).instrument(span).await
    }

    async fn handle_inner(&self, req: Request<Body>, request_id: String) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let guess = if target.is_some() {
            Wire::Json("1.1")
        } else {
            Wire::Query("", Flavor::Query)
        };
        let body = match axum::body::to_bytes(body, self.config.max_body_bytes).await {
            Ok(b) => b,
            Err(_) => {
                let e = WireError::new(
                    "RequestEntityTooLarge",
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than the {} bytes wharf accepts",
                        self.config.max_body_bytes
                    ),
                );
                return error_response(guess, &e, &request_id);
            }
        };
        // HTTP/2 carries the host in :authority; SigV4 signs it as `host`.
        let mut headers = parts.headers;
        if !headers.contains_key(header::HOST) {
            if let Some(auth) = parts
                .uri
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            {
                headers.insert(header::HOST, auth);
            }
        }
        let raw_query = parts.uri.query().unwrap_or("");
        let req_parts = RequestParts {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: raw_query,
            headers: &headers,
            body: &body,
        };

        // 1. Which service: the credential scope names it; X-Amz-Target is the fallback.
        let auth = sigv4::parse(&req_parts);
        let service = match &auth {
            Ok(a) => self.by_signing_name.get(a.service.as_str()).cloned(),
            Err(_) => None,
        }
        .or_else(|| {
            let prefix = target.as_deref()?.split('.').next()?;
            self.by_target_prefix.get(prefix).cloned()
        });
        let Some(service) = service else {
            let e = match &auth {
                Ok(a) => WireError::new(
                    "UnknownService",
                    StatusCode::BAD_REQUEST,
                    format!(
                        "wharf does not serve the AWS service '{}' (from the credential scope)",
                        a.service
                    ),
                ),
                Err(err) => auth_error(err, guess),
            };
            return error_response(guess, &e, &request_id);
        };
        let model = service.model();
        let wire = wire_of(model);
        tracing::Span::current().record("service", model.endpoint_prefix);

        // 2. Who is calling.
        let principal = match self.authenticate(&auth, &req_parts, wire) {
            Ok(p) => p,
            Err(e) => return error_response(wire, &e, &request_id),
        };
        let region = match &auth {
            Ok(a) => a.region.clone(),
            Err(_) => "us-east-1".to_string(),
        };

        // 3. Which operation, and its input.
        let decoded = match model.protocol {
            Protocol::Json => decode_json(model, parts.method.clone(), target.as_deref(), &body),
            Protocol::Query | Protocol::Ec2 => {
                let flavor = if model.protocol == Protocol::Ec2 {
                    Flavor::Ec2
                } else {
                    Flavor::Query
                };
                let forms: Vec<&[u8]> = vec![raw_query.as_bytes(), &body];
                let params = Params::parse(&forms);
                decode_query(model, &params, flavor)
            }
        };
        let (op, input) = match decoded {
            Ok(x) => x,
            Err(e) => return error_response(wire, &e, &request_id),
        };
        tracing::Span::current().record("op", op.name);

        let ctx = RequestContext {
            region,
            account_id: principal.account_id,
            principal_arn: principal.principal_arn,
            user_id: principal.user_id,
            access_key_id: auth
                .as_ref()
                .map(|a| a.access_key_id.clone())
                .unwrap_or_default(),
            request_id: request_id.clone(),
            now: self.clock.now(),
        };
        let op_name = op.name;
        let handler = service.clone();
        let result = tokio::task::spawn_blocking(move || handler.call(&ctx, op_name, input)).await;
        let result = match result {
            Ok(r) => r,
            Err(join) => {
                warn!(error = %join, "service operation panicked");
                Err(ServiceError::new(
                    "InternalFailure",
                    "the service failed while handling the request",
                ))
            }
        };
        match result {
            Ok(output) => {
                debug!("ok");
                success_response(model, op, &output, &request_id)
            }
            Err(err) => {
                let e = service_error(model, &err);
                if e.status.is_server_error() {
                    warn!(code = %e.code, message = %e.message, "service error");
                }
                error_response(wire, &e, &request_id)
            }
        }
    }

    fn authenticate(
        &self,
        auth: &Result<sigv4::ParsedAuth, SigV4Error>,
        req: &RequestParts<'_>,
        wire: Wire<'_>,
    ) -> Result<Credentials, WireError> {
        if self.config.accept_any_credentials {
            let account = self.config.account_id.clone();
            return Ok(Credentials {
                secret_access_key: String::new(),
                principal_arn: format!("arn:aws:iam::{account}:root"),
                user_id: account.clone(),
                account_id: account,
                session_token: None,
            });
        }
        let auth = auth.as_ref().map_err(|e| auth_error(e, wire))?;
        let token_matches = |creds: &Credentials| match &creds.session_token {
            None => true,
            Some(token) => req.headers.get("x-amz-security-token").is_some_and(|sent| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    sent.as_bytes(),
                    token.as_bytes(),
                ))
            }),
        };
        let found = self
            .credentials
            .lookup(&auth.access_key_id)
            .filter(token_matches);
        let Some(creds) = found else {
            return Err(match wire {
                Wire::Json(_) => WireError::new(
                    "UnrecognizedClientException",
                    StatusCode::FORBIDDEN,
                    "The security token included in the request is invalid.",
                ),
                Wire::Query(_, Flavor::Query) => WireError::new(
                    "InvalidClientTokenId",
                    StatusCode::FORBIDDEN,
                    "The security token included in the request is invalid.",
                ),
                Wire::Query(_, Flavor::Ec2) => WireError::new(
                    "AuthFailure",
                    StatusCode::UNAUTHORIZED,
                    "AWS was not able to validate the provided access credentials",
                ),
            });
        };
        let now = self.clock.now().millis;
        self.keys
            .verify(req, auth, &creds.secret_access_key, now)
            .map_err(|e| auth_error(&e, wire))?;
        Ok(creds)
    }
}

fn wire_of(model: &'static ServiceModel) -> Wire<'static> {
    match model.protocol {
        Protocol::Json => Wire::Json(model.json_version),
        Protocol::Query => Wire::Query(model.xml_namespace, Flavor::Query),
        Protocol::Ec2 => Wire::Query(model.xml_namespace, Flavor::Ec2),
    }
}

fn auth_error(err: &SigV4Error, wire: Wire<'_>) -> WireError {
    match err {
        SigV4Error::MissingAuthentication => WireError::new(
            "MissingAuthenticationToken",
            StatusCode::FORBIDDEN,
            "Missing Authentication Token: sign the request with SigV4 (the AWS CLI and SDKs do), or start wharf with --accept-any-credentials",
        ),
        SigV4Error::IncompleteSignature(m) => {
            WireError::new("IncompleteSignature", StatusCode::FORBIDDEN, m.clone())
        }
        SigV4Error::SignatureDoesNotMatch => WireError::new(
            match wire {
                Wire::Json(_) => "InvalidSignatureException",
                Wire::Query(..) => "SignatureDoesNotMatch",
            },
            StatusCode::FORBIDDEN,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
        SigV4Error::RequestExpired(m) => {
            let code = match wire {
                Wire::Json(_) => "InvalidSignatureException",
                Wire::Query(..) => "SignatureDoesNotMatch",
            };
            WireError::new(code, StatusCode::FORBIDDEN, m.clone())
        }
        SigV4Error::InvalidDate(m) => WireError::new("IncompleteSignature", StatusCode::FORBIDDEN, m.clone()),
    }
}

type Decoded = (&'static wharf_core::model::Operation, serde_json::Value);

fn decode_json(
    model: &'static ServiceModel,
    method: Method,
    target: Option<&str>,
    body: &[u8],
) -> Result<Decoded, WireError> {
    if method != Method::POST {
        return Err(WireError::new(
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            format!(
                "{} API requests must be POST with X-Amz-Target",
                model.endpoint_prefix
            ),
        ));
    }
    let target = target.unwrap_or("");
    let (prefix, op_name) = target.split_once('.').unwrap_or(("", target));
    if prefix != model.target_prefix {
        return Err(WireError::new(
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            format!(
                "X-Amz-Target '{target}' does not name a {} operation",
                model.endpoint_prefix
            ),
        ));
    }
    let op = find_operation(model, op_name)?;
    let input = json::decode(body)
        .map_err(|m| WireError::new("SerializationException", StatusCode::BAD_REQUEST, m))?;
    check_input(model, op, &input)?;
    Ok((op, input))
}

fn decode_query(
    model: &'static ServiceModel,
    params: &Params,
    flavor: Flavor,
) -> Result<Decoded, WireError> {
    let Some(action) = params.get("Action") else {
        return Err(WireError::new(
            "MissingAction",
            StatusCode::BAD_REQUEST,
            "the request must contain the parameter Action",
        ));
    };
    let op = find_operation(model, action)?;
    let input = match op.input {
        Some(shape) => query::decode(model, shape, params, flavor).map_err(|m| {
            let code = if flavor == Flavor::Ec2 {
                "InvalidParameterValue"
            } else {
                "MalformedQueryString"
            };
            WireError::new(code, StatusCode::BAD_REQUEST, m)
        })?,
        None => serde_json::Value::Object(Default::default()),
    };
    check_input(model, op, &input)?;
    Ok((op, input))
}

fn find_operation(
    model: &'static ServiceModel,
    name: &str,
) -> Result<&'static wharf_core::model::Operation, WireError> {
    if let Some(op) = model.operation(name) {
        return Ok(op);
    }
    let unknown_code = match model.protocol {
        Protocol::Json => "UnknownOperationException",
        Protocol::Query | Protocol::Ec2 => "InvalidAction",
    };
    if model.has_operation(name) {
        return Err(WireError::new(
            unknown_code,
            StatusCode::BAD_REQUEST,
            format!(
                "wharf does not support the {} operation {name}; see docs/services.md for the operations it serves",
                model.endpoint_prefix
            ),
        ));
    }
    Err(WireError::new(
        unknown_code,
        StatusCode::BAD_REQUEST,
        format!(
            "{name} is not an operation of the {} API",
            model.endpoint_prefix
        ),
    ))
}

fn check_input(
    model: &'static ServiceModel,
    op: &wharf_core::model::Operation,
    input: &serde_json::Value,
) -> Result<(), WireError> {
    let Some(shape) = op.input else { return Ok(()) };
    validate(model, shape, input).map_err(|invalid| {
        if invalid.wrong_type && model.protocol == Protocol::Json {
            return WireError::new(
                "SerializationException",
                StatusCode::BAD_REQUEST,
                invalid.message,
            );
        }
        service_error(
            model,
            &ServiceError::new(model.validation_error, invalid.message),
        )
    })
}

fn service_error(model: &ServiceModel, err: &ServiceError) -> WireError {
    match model.error(err.shape) {
        Some(info) => WireError {
            code: match model.protocol {
                Protocol::Json => info.shape.to_string(),
                _ => info.code.to_string(),
            },
            message: err.message.clone(),
            status: StatusCode::from_u16(info.status).unwrap_or(StatusCode::BAD_REQUEST),
        },
        None => {
            let internal = matches!(
                err.shape,
                "InternalFailure" | "InternalError" | "ServerException" | "ServiceFailure"
            );
            WireError {
                code: err.shape.to_string(),
                message: err.message.clone(),
                status: if internal {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::BAD_REQUEST
                },
            }
        }
    }
}

fn success_response(
    model: &'static ServiceModel,
    op: &wharf_core::model::Operation,
    output: &serde_json::Value,
    request_id: &str,
) -> Response<Body> {
    let (content_type, body) = match model.protocol {
        Protocol::Json => (
            json::content_type(model.json_version),
            json::encode_output(output),
        ),
        Protocol::Query => (
            "text/xml",
            query::encode_output(model, op, output, request_id, Flavor::Query).into_bytes(),
        ),
        Protocol::Ec2 => (
            "text/xml;charset=UTF-8",
            query::encode_output(model, op, output, request_id, Flavor::Ec2).into_bytes(),
        ),
    };
    respond(StatusCode::OK, content_type, body, request_id)
}

fn error_response(wire: Wire<'_>, e: &WireError, request_id: &str) -> Response<Body> {
    match wire {
        Wire::Json(version) => respond(
            e.status,
            json::content_type(version),
            json::encode_error(&e.code, &e.message),
            request_id,
        ),
        Wire::Query(ns, flavor) => {
            let sender = !e.status.is_server_error();
            let body = query::encode_error(ns, &e.code, &e.message, sender, request_id, flavor);
            respond(e.status, "text/xml", body.into_bytes(), request_id)
        }
    }
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    request_id: &str,
) -> Response<Body> {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h: &mut HeaderMap = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}
