//! `/`: the dashboard, one self-contained page (HTML, CSS and script from
//! `assets/`, compiled into the binary; nothing loaded from elsewhere).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::state::AppState;

const HTML: &str = include_str!("../../assets/dashboard.html");
const CSS: &str = include_str!("../../assets/dashboard.css");
const SCRIPT: &str = include_str!("../../assets/dashboard.js");

/// Only this page's own inline style and script, and requests to this
/// server; no framing by other sites.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/// The page with its style and script inlined; `control` shows the token
/// field and the command buttons.
pub(crate) fn page(control: bool) -> String {
    HTML.replace("/*STYLE*/", CSS)
        .replace("/*SCRIPT*/", SCRIPT)
        .replace(
            "data-control=\"false\"",
            &format!("data-control=\"{control}\""),
        )
}

pub(crate) async fn dashboard(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        state.inner.page.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained() {
        let page = page(true);
        assert!(page.contains("data-control=\"true\""));
        assert!(!page.contains("/*STYLE*/") && !page.contains("/*SCRIPT*/"));
        for external in ["src=\"http", "href=\"http", "src=\"//", "@import"] {
            assert!(!page.contains(external), "the page loads {external}");
        }
    }
}
