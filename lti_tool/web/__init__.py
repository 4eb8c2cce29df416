"""The web layer: blueprints, request-scoped database sessions, authorisation and security headers."""
