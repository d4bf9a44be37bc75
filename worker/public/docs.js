// Swagger UI for Tollgate's OpenAPI document. The Authorize button uses the OAuth2 password
// flow against /auth/login, the same form FastAPI's docs send, and then "Try it out" calls
// protected routes with the bearer token.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: false,
  tryItOutEnabled: true,
  withCredentials: true,
  // No badge from validator.swagger.io: the page loads nothing from elsewhere (and its
  // Content-Security-Policy, in _headers, would refuse it).
  validatorUrl: null,
});
