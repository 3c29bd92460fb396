//! The one HTTP endpoint for every AWS API: reads the service from the SigV4 credential scope
//! (falling back to what the request names: `X-Amz-Target`, a Smithy RPC v2 CBOR path), asks
//! [`protocol::for_request`] which of the service's protocols the request is written in,
//! verifies the signature, inflates a gzip body ([`encoding`]), lets that wire protocol decode
//! the request, validates the input against the model, calls the service off the reactor, and
//! has the protocol encode the answer or the error. It routes, authenticates, validates and
//! dispatches; everything that differs between protocols is behind [`WireProtocol`].

use crate::encoding::{self, BodyError};
use crate::protocol::{self, Encoded, WireError, WireProtocol, WireRequest};
use crate::sigv4::{self, RequestParts, SigV4Error, SigningKeyCache};
use crate::validate::validate;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use tracing::{debug, info_span, warn, Instrument};
use wharf_core::model::{Operation, ServiceModel};
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
    by_signing_name: HashMap<&'static str, Route>,
    by_target_prefix: HashMap<&'static str, Route>,
    credentials: Arc<dyn CredentialStore>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    keys: SigningKeyCache,
    config: GatewayConfig,
}

/// A service and its model.
#[derive(Clone)]
struct Route {
    handler: Arc<dyn ServiceHandler>,
    model: &'static ServiceModel,
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
        for handler in services {
            let model = handler.model();
            let route = Route { handler, model };
            if !model.target_prefix.is_empty() {
                by_target_prefix.insert(model.target_prefix, route.clone());
            }
            by_signing_name.insert(model.signing_name, route);
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
        let header_text = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let target = header_text("x-amz-target");
        let smithy_protocol = header_text("smithy-protocol");
        let content_encoding = header_text("content-encoding");
        let unrouted = protocol::before_routing(target.as_deref(), smithy_protocol.as_deref());
        let body = match self.read_body(body).await {
            Ok(b) => b,
            Err(e) => return error_response(unrouted, None, &e, &request_id),
        };
        let headers = with_host(parts.headers, &parts.uri);
        let raw_query = parts.uri.query().unwrap_or("");
        let req_parts = RequestParts {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: raw_query,
            headers: &headers,
            body: &body,
        };
        let request = WireRequest {
            method: &parts.method,
            path: parts.uri.path(),
            target: target.as_deref(),
            smithy_protocol: smithy_protocol.as_deref(),
            query: raw_query,
            body: &body,
        };

        // 1. Which service: the credential scope names it; the request itself (X-Amz-Target,
        // a Smithy RPC v2 CBOR path) is the fallback. Which of its protocols: the request's.
        let auth = sigv4::parse(&req_parts);
        let route = match self.route(&auth, &request, unrouted) {
            Ok(route) => route,
            Err(e) => return error_response(unrouted, None, &e, &request_id),
        };
        let model = route.model;
        let wire = protocol::for_request(model, &request);
        tracing::Span::current().record("service", model.endpoint_prefix);

        // 2. Who is calling.
        let principal = match self.authenticate(&auth, &req_parts, wire) {
            Ok(p) => p,
            Err(e) => return error_response(wire, Some(model), &e, &request_id),
        };

        // 3. Which operation, and its input (a gzip body inflated first: the signature was over
        // the compressed bytes).
        let inflated = match self.inflate(content_encoding.as_deref(), &body, wire) {
            Ok(inflated) => inflated,
            Err(e) => return error_response(wire, Some(model), &e, &request_id),
        };
        let request = match &inflated {
            Some(bytes) => WireRequest {
                body: bytes,
                ..request
            },
            None => request,
        };
        let decoded = wire.decode(model, &request).and_then(|(op, input)| {
            check_input(wire, model, op, &input)?;
            Ok((op, input))
        });
        let (op, input) = match decoded {
            Ok(x) => x,
            Err(e) => return error_response(wire, Some(model), &e, &request_id),
        };
        tracing::Span::current().record("op", op.name);

        // 4. The call, off the reactor.
        let ctx = RequestContext {
            region: match &auth {
                Ok(a) => a.region.clone(),
                Err(_) => "us-east-1".to_string(),
            },
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
        match call(route.handler.clone(), ctx, op.name, input).await {
            Ok(output) => {
                debug!("ok");
                let answer = wire.encode_output(model, op, &output, &request_id);
                respond(StatusCode::OK, answer, &request_id)
            }
            Err(err) => {
                let e = WireError::from_service(wire, model, &err);
                if e.status.is_server_error() {
                    warn!(code = %e.code, message = %e.message, "service error");
                }
                error_response(wire, Some(model), &e, &request_id)
            }
        }
    }

    /// The whole body, unless it is larger than the configured limit.
    async fn read_body(&self, body: Body) -> Result<axum::body::Bytes, WireError> {
        axum::body::to_bytes(body, self.config.max_body_bytes)
            .await
            .map_err(|_| too_large(self.config.max_body_bytes, ""))
    }

    /// The body decoded from its `Content-Encoding` (`None`: use it as it is), within the
    /// configured limit.
    fn inflate(
        &self,
        content_encoding: Option<&str>,
        body: &[u8],
        protocol: &dyn WireProtocol,
    ) -> Result<Option<Vec<u8>>, WireError> {
        let limit = self.config.max_body_bytes;
        encoding::decoded(content_encoding, body, limit).map_err(|e| match e {
            BodyError::Corrupt(message) => WireError::new(
                protocol.malformed_body_code(),
                StatusCode::BAD_REQUEST,
                message,
            ),
            BodyError::TooLarge => too_large(limit, "inflated"),
        })
    }

    /// The service a request is for: the one named by its credential scope, else the one the
    /// request names itself (`X-Amz-Target` prefix, Smithy RPC v2 CBOR path).
    fn route(
        &self,
        auth: &Result<sigv4::ParsedAuth, SigV4Error>,
        request: &WireRequest<'_>,
        unrouted: &dyn WireProtocol,
    ) -> Result<&Route, WireError> {
        let by_scope = match auth {
            Ok(a) => self.by_signing_name.get(a.service.as_str()),
            Err(_) => None,
        };
        let found = by_scope.or_else(|| {
            let name = protocol::service_named_by(request)?;
            self.by_target_prefix.get(name)
        });
        found.ok_or_else(|| match auth {
            Ok(a) => WireError::new(
                "UnknownService",
                StatusCode::BAD_REQUEST,
                format!(
                    "wharf does not serve the AWS service '{}' (from the credential scope)",
                    a.service
                ),
            ),
            Err(err) => auth_error(err, unrouted),
        })
    }

    fn authenticate(
        &self,
        auth: &Result<sigv4::ParsedAuth, SigV4Error>,
        req: &RequestParts<'_>,
        protocol: &dyn WireProtocol,
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
        let auth = auth.as_ref().map_err(|e| auth_error(e, protocol))?;
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
            return Err(protocol.unknown_access_key());
        };
        let now = self.clock.now().millis;
        self.keys
            .verify(req, auth, &creds.secret_access_key, now)
            .map_err(|e| auth_error(&e, protocol))?;
        Ok(creds)
    }
}

/// `headers` with `host` set from the URI's authority when missing: HTTP/2 carries the host in
/// `:authority`, and SigV4 signs it as `host`.
fn with_host(mut headers: HeaderMap, uri: &axum::http::Uri) -> HeaderMap {
    if !headers.contains_key(header::HOST) {
        if let Some(auth) = uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            headers.insert(header::HOST, auth);
        }
    }
    headers
}

/// A body over `limit` bytes (`how`: "inflated" for a gzip body that grows past it).
fn too_large(limit: usize, how: &str) -> WireError {
    let body = if how.is_empty() {
        "the request body".to_string()
    } else {
        format!("the {how} request body")
    };
    WireError::new(
        "RequestEntityTooLarge",
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("{body} is larger than the {limit} bytes wharf accepts"),
    )
}

fn auth_error(err: &SigV4Error, protocol: &dyn WireProtocol) -> WireError {
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
            protocol.bad_signature_code(),
            StatusCode::FORBIDDEN,
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
        SigV4Error::RequestExpired(m) => {
            WireError::new(protocol.bad_signature_code(), StatusCode::FORBIDDEN, m.clone())
        }
        SigV4Error::InvalidDate(m) => WireError::new("IncompleteSignature", StatusCode::FORBIDDEN, m.clone()),
    }
}

/// Checks a decoded input against the model; a value of the wrong JSON type is answered with
/// the protocol's code for it, anything else with the service's validation error.
fn check_input(
    protocol: &dyn WireProtocol,
    model: &'static ServiceModel,
    op: &Operation,
    input: &serde_json::Value,
) -> Result<(), WireError> {
    let Some(shape) = op.input else { return Ok(()) };
    validate(model, shape, input).map_err(|invalid| match protocol.wrong_type_code() {
        Some(code) if invalid.wrong_type => {
            WireError::new(code, StatusCode::BAD_REQUEST, invalid.message)
        }
        _ => WireError::from_service(
            protocol,
            model,
            &ServiceError::new(model.validation_error, invalid.message),
        ),
    })
}

/// Runs operation `op` on a blocking thread; a panic becomes `InternalFailure`.
async fn call(
    handler: Arc<dyn ServiceHandler>,
    ctx: RequestContext,
    op: &'static str,
    input: serde_json::Value,
) -> Result<serde_json::Value, ServiceError> {
    match tokio::task::spawn_blocking(move || handler.call(&ctx, op, input)).await {
        Ok(result) => result,
        Err(join) => {
            warn!(error = %join, "service operation panicked");
            Err(ServiceError::new(
                "InternalFailure",
                "the service failed while handling the request",
            ))
        }
    }
}

fn error_response(
    protocol: &dyn WireProtocol,
    model: Option<&ServiceModel>,
    e: &WireError,
    request_id: &str,
) -> Response<Body> {
    respond(
        e.status,
        protocol.encode_error(model, e, request_id),
        request_id,
    )
}

fn respond(status: StatusCode, answer: Encoded, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(answer.body));
    *resp.status_mut() = status;
    let h: &mut HeaderMap = resp.headers_mut();
    if let Some(content_type) = answer.content_type {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in answer.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}
