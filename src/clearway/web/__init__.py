"""The officers' web application: server-rendered pages (Jinja templates and htmx) on the API's app."""

from clearway.web.pages import WEB_CONTROLLERS, web_config

__all__ = ["WEB_CONTROLLERS", "web_config"]
