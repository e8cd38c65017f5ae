"""Content Security Policy of the pages: scripts, styles and connections only from known origins."""

from __future__ import annotations

CSP_TEMPLATE = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src {connect}; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
CSP = CSP_TEMPLATE.format(connect="'self'")
# Swagger UI's page boots with an inline script; it is our own page with no customer text.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'"
)
