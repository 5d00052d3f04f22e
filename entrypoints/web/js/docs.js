// Swagger UI on /openapi.json, from the vendored bundle (entrypoints/web/vendor/swagger-ui):
// nothing is fetched from anywhere but this server.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  // the online validator would send the document to a third party
  validatorUrl: null,
});
