"""The JSON API under ``/api/v1`` (FastAPI, OpenAPI at ``/api/v1/openapi.json``) and the
security shared with the web app: password hashing, signed session cookies, CSRF, roles and
login rate limiting. An entry point: it may do I/O."""
