//! GraphiQL on `GET /graphql`, with every asset served from the binary (`api/assets/graphiql`,
//! pinned production builds from npm): no public CDN, so the playground works offline and
//! wherever CDNs are unreachable. Subscriptions go to `/graphql/ws`; the token the developer
//! puts in GraphiQL's Headers tab (`{"Authorization": "Bearer …"}`) is sent in
//! `connection_init` as well.

use poem::http::{StatusCode, header};
use poem::web::{Html, Path};
use poem::{IntoResponse, Response, handler};

/// Where the assets are served.
const ASSETS: &str = "/graphiql";

/// (file name, media type, bytes).
const FILES: [(&str, &str, &[u8]); 4] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
];

/// The playground page.
pub fn page() -> Response {
    Html(format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>membercard · GraphiQL</title>
  <link rel="stylesheet" href="{ASSETS}/graphiql.min.css">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{ASSETS}/react.production.min.js"></script>
  <script src="{ASSETS}/react-dom.production.min.js"></script>
  <script src="{ASSETS}/graphiql.min.js"></script>
  <script>
    const url = new URL("/graphql", window.location.href).href;
    // The Authorization header from GraphiQL's Headers tab, for subscriptions too.
    const connectionParams = () => {{
      try {{
        const headers = JSON.parse(localStorage.getItem("graphiql:headers") || "{{}}");
        const auth = headers.Authorization || headers.authorization;
        return auth ? {{ Authorization: auth }} : {{}};
      }} catch (_) {{
        return {{}};
      }}
    }};
    const fetcher = GraphiQL.createFetcher({{
      url,
      subscriptionUrl: url.replace(/^http/, "ws") + "/ws",
      wsConnectionParams: connectionParams,
    }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }}),
    );
  </script>
</body>
</html>
"#
    ))
    .into_response()
}

/// `GET /graphiql/:file`: one of the compiled-in assets, cacheable for a day.
#[handler]
pub fn asset(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, media_type, bytes)) => Response::builder()
            .content_type(*media_type)
            .header(header::CACHE_CONTROL, "public, max-age=86400")
            .body(*bytes),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
