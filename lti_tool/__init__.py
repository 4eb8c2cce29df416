"""L2I Engine's application package: the Flask factory, the LTI adapter, views and CLI."""

from lti_tool.app import create_app

__all__ = ["create_app"]
