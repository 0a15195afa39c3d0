"""The HTTP API (Litestar): routers per audience, problem details for errors."""

from clearway.api.app import create_app

__all__ = ["create_app"]
