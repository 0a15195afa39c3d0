"""The officers' web application: server-rendered pages (Jinja templates and htmx) on the API's app."""

from clearway.web.manifest_pages import ManifestPages
from clearway.web.pages import OfficerPages, web_config

WEB_CONTROLLERS = [OfficerPages, ManifestPages]
__all__ = ["WEB_CONTROLLERS", "web_config"]
