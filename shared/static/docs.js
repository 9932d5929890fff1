// Starts Swagger UI on /docs (shared/api_docs.py) with the service's own OpenAPI document.
// BaseLayout, not StandaloneLayout: the standalone top bar (a box to load other documents, and a logo
// drawn with an inline <style>, which the Content-Security-Policy refuses) has nothing to offer here.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
