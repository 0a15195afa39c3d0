"""The raw request bodies in the OpenAPI document: routes that read the body as sent (to keep it and to
report every error at once) still document it, with the Consignment v1 schema msgspec derives."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Reference, RequestBody, Schema

from clearway.model.consignment import Consignment

_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")
_RENAMED = {"not": "schema_not", "if": "schema_if", "else": "schema_else"}
_FIELDS = {f.name for f in dataclasses.fields(Schema)}


def _schema(node: Any) -> Schema | Reference:
    """A JSON Schema dict (msgspec's) as Litestar's OpenAPI objects, `$defs` references pointing at components."""
    if "$ref" in node:
        return Reference(ref=node["$ref"].replace("#/$defs/", "#/components/schemas/"))
    fields: dict[str, Any] = {}
    for key, value in node.items():
        name = _RENAMED.get(key) or _SNAKE.sub("_", key).lower()
        if key in ("properties",):
            value = {k: _schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = _schema(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            value = [_schema(v) for v in value]
        elif key == "type":
            value = [OpenAPIType(v) for v in value] if isinstance(value, list) else OpenAPIType(value)
        if name in _FIELDS:  # keywords OpenAPI has no field for (clearway's own annotations) are left out
            fields[name] = value
    return Schema(**fields)


def document_consignment_bodies(app: Litestar, routes: dict[str, tuple[str, bool]]) -> None:
    """Give each (path -> method, accepts a list) a Consignment v1 request body (JSON, or NDJSON for lists)."""
    spec = app.openapi_schema
    schema = msgspec.json.schema(Consignment)
    components = spec.components
    components.schemas = dict(components.schemas or {})
    for name, definition in schema.get("$defs", {}).items():
        components.schemas[name] = _schema(definition)  # type: ignore[assignment]
    one = Reference(ref="#/components/schemas/Consignment")
    for path, (method, many) in routes.items():
        operation = getattr(spec.paths[path], method)  # type: ignore[index]
        body = (
            Schema(one_of=[one, Schema(type=OpenAPIType.ARRAY, items=one, min_items=1, max_items=1000)])
            if many
            else one
        )
        content = {"application/json": OpenAPIMediaType(schema=body)}
        if many:
            content["application/x-ndjson"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="one Consignment v1 JSON object a line")
            )
        operation.request_body = RequestBody(content=content, required=True)
