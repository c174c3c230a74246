// Starts Swagger UI on /api/v1/docs (templates/api/swagger.html).
//
// It lives in a file, not in an inline <script>, because the Content-Security-Policy
// (app/web/security.py) allows scripts from the app itself only. The page hands over
// what flask-smorest's own page would have put into its inline script:
//   data-spec-url  the OpenAPI document to show (/api/v1/openapi.json)
//   data-config    OPENAPI_SWAGGER_UI_CONFIG as JSON, e.g. {"validatorUrl": null}
// Swagger UI and its stylesheet come from static/vendor/swagger-ui: nothing is fetched
// from another origin.
(function () {
  "use strict";

  function readConfig(container) {
    try {
      return JSON.parse(container.getAttribute("data-config") || "{}") || {};
    } catch (err) {
      if (window.console) { window.console.error("swagger-init: data-config is not JSON", err); }
      return {};
    }
  }

  function start() {
    var container = document.getElementById("swagger-ui-container");
    if (!container || typeof window.SwaggerUIBundle !== "function") { return; }
    var config = { url: container.getAttribute("data-spec-url"), dom_id: "#swagger-ui-container" };
    var overrides = readConfig(container);
    Object.keys(overrides).forEach(function (name) { config[name] = overrides[name]; });
    window.ui = window.SwaggerUIBundle(config);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
