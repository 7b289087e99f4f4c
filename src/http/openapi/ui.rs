//! The browsable docs at `/docs`: Swagger UI from `assets/api-docs/` (see its README for the
//! package, version and licence), compiled into the binary and served with its content type,
//! an `ETag`, caching headers, gzip when the client accepts it, and a Content-Security-Policy
//! that allows scripts, styles and requests from this origin only.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The vendored `swagger-ui-dist` version (also in `assets/api-docs/README.md`).
pub const SWAGGER_UI_VERSION: &str = "5.35.0";

/// The policy of every `/docs` response: nothing from other origins, no inline script or style
/// (Swagger UI's CSS uses `data:` images), no framing.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX_HTML: &[u8] = include_bytes!("../../../assets/api-docs/index.html");

/// A static file of the docs UI.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The files under `/docs/{asset}`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/api-docs/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../assets/api-docs/swagger-ui.css"),
    },
    Asset {
        name: "docs.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../assets/api-docs/docs.js"),
    },
];

/// Each asset's strong `ETag` and gzip rendering, computed on first use.
struct Prepared {
    etag: HeaderValue,
    gzip: Vec<u8>,
}

static PREPARED: LazyLock<Vec<Prepared>> = LazyLock::new(|| ASSETS.iter().map(|a| prepare(a.bytes)).collect());

fn prepare(bytes: &[u8]) -> Prepared {
    let digest = Sha256::digest(bytes);
    let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12]))).expect("hex is a valid header");
    Prepared { etag, gzip: gzip(bytes) }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).and_then(|()| encoder.finish()).expect("compressing into memory cannot fail")
}

/// The page: never cached, so a new binary's page (and the assets it names) is seen at once.
pub fn page() -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP)),
    ];
    (headers, INDEX_HTML).into_response()
}

/// An asset by name: 200 (gzip when accepted), 304 when `If-None-Match` matches, `None` when
/// there is no such asset.
pub fn asset(name: &str, request: &HeaderMap) -> Option<Response> {
    let index = ASSETS.iter().position(|a| a.name == name)?;
    let (asset, prepared): (_, &'static Prepared) = (&ASSETS[index], &PREPARED[index]);
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600, must-revalidate"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
    headers.insert(header::ETAG, prepared.etag.clone());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if matches_etag(request, &prepared.etag) {
        return Some((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    if accepts_gzip(request) {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return Some((headers, prepared.gzip.as_slice()).into_response());
    }
    Some((headers, asset.bytes).into_response())
}

fn matches_etag(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(wanted) = request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else { return false };
    let etag = etag.to_str().unwrap_or_default();
    wanted.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

fn accepts_gzip(request: &HeaderMap) -> bool {
    request.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
            name.eq_ignore_ascii_case("gzip") && !refused
        },
    )
}
