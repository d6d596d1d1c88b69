"""The REST API's route registry and the OpenAPI 3.1 document generated from it.

Every ``/api/v1`` endpoint is declared with :func:`operation`, which registers the Flask view *and* records what
it takes (path parameters from the Flask rule, a pydantic model for the query string and one for the JSON body, or
a raw byte body for uploads) and what it answers (a pydantic model, a status, the error statuses). The same
declaration validates requests (422 with the pydantic errors as ``details``, 400 for malformed JSON), so the
document cannot drift from the code.

``GET /api/v1/openapi.json`` serves :func:`build_document`; ``GET /api/v1/docs`` a browsable page (plain HTML +
JS from /static, no CDN) listing every operation with its parameters and schemas.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from pydantic import BaseModel, ValidationError

from services.common.exceptions import BadRequest, NotFound, RepseqError

API_PREFIX = "/api/v1"
API_VERSION = "1.0.0"

#: HTTP statuses and what they mean in this API (used in the document's error responses).
ERROR_STATUSES = {
    400: "Malformed request (bad JSON, bad value)",
    401: "Not authenticated (no or expired session / API token)",
    403: "Not allowed (missing right or CSRF token)",
    404: "Not found (or not visible to the caller)",
    409: "Conflicts with the current state",
    413: "Payload too large",
    414: "Request line too long (the HTTP server accepts up to 4 KB of path and query)",
    422: "Request body or query does not match the schema",
    429: "Too many attempts (see details.retry_after)",
    503: "A service this call needs is unavailable",
}


class ValidationFailed(RepseqError):
    """The request body or query string does not match the operation's schema."""

    code = "validation_failed"
    http_status = 422


@dataclass
class Operation:
    """One documented endpoint."""

    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: bool = True
    raw_body: str | None = None
    produces: str = "application/json"
    errors: tuple[int, ...] = ()
    path_params: dict[str, Any] = field(default_factory=dict)


#: Largest record id: services keep ids in signed 32-bit INT columns; a larger id in a path names nothing (404).
MAX_RECORD_ID = 2**31 - 1


#: Every registered operation, in declaration order.
REGISTRY: list[Operation] = []

_RULE_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def _path_params(rule: str) -> dict[str, Any]:
    """``{name: converter}``; the ``any(a, b)`` converter becomes ``("any", ["a", "b"])``."""
    params: dict[str, Any] = {}
    for m in _RULE_PARAM.finditer(rule):
        conv = m.group("conv") or "string"
        args = m.group("args") or ""
        if conv == "any":
            params[m.group("name")] = ("any", [a.strip().strip("'\"") for a in args.split(",")])
        elif conv == "int" and "min=0" in args.replace(" ", ""):
            params[m.group("name")] = "index"
        else:
            params[m.group("name")] = conv
    return params


def openapi_path(rule: str) -> str:
    """Flask rule ``/sets/<int:set_id>`` -> OpenAPI path ``/sets/{set_id}``."""
    return _RULE_PARAM.sub(lambda m: "{" + m.group("name") + "}", rule)


def _validate(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [{"loc": [where, *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
                    for e in error.errors(include_url=False, include_context=False, include_input=False)]
        first = problems[0]
        raise ValidationFailed(f"{'.'.join(first['loc'])}: {first['msg']}", {"errors": problems}) from None


def _json_body() -> Any:
    if not request.data and request.content_length in (None, 0):
        return {}
    if not request.is_json:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)",
                         {"content_type": request.content_type})
    try:
        return request.get_json(force=True)
    except Exception:
        raise BadRequest("the request body is not valid JSON") from None


def _query_dict(model: type[BaseModel]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        values = request.args.getlist(key)
        if not values:
            continue
        annotation = str(info.annotation)
        data[key] = values if annotation.startswith(("list", "typing.List")) else values[-1]
    return data


def operation(bp: Blueprint, rule: str, method: str = "GET", *, summary: str, tag: str,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None, response: Any = None,
              status: int = 200, auth: bool = True, raw_body: str | None = None,
              produces: str = "application/json", errors: tuple[int, ...] = ()) -> Callable:
    """Register the decorated function as ``method rule`` on ``bp`` and in :data:`REGISTRY`.

    The view receives the path parameters, then ``body=`` (validated model) and ``query=`` (validated model) when
    declared. With ``auth=True`` the caller must be authenticated (:func:`gateway.auth.require_principal`, which
    also checks CSRF for cookie sessions on unsafe methods); the principal is in ``g.principal``. A dict/list
    return value becomes JSON with ``status``; a Flask Response is returned as is.
    """
    method = method.upper()

    def decorator(func: Callable) -> Callable:
        full_rule = (bp.url_prefix or "") + rule
        op = Operation(rule=full_rule, method=method, endpoint=f"{bp.name}.{func.__name__}", summary=summary,
                       description=(func.__doc__ or "").strip(), tag=tag, body=body, query=query,
                       response=response, status=status, auth=auth, raw_body=raw_body, produces=produces,
                       errors=errors, path_params=_path_params(full_rule))
        REGISTRY.append(op)

        @functools.wraps(func)
        def view(**path_kwargs):
            from gateway.auth import require_principal

            for name, value in path_kwargs.items():
                if isinstance(value, int) and value > MAX_RECORD_ID:
                    raise NotFound(f"{name} {value} does not exist", {name: value})
            if auth:
                require_principal()
            kwargs = dict(path_kwargs)
            if query is not None:
                kwargs["query"] = _validate(query, _query_dict(query), "query")
            if body is not None:
                kwargs["body"] = _validate(body, _json_body(), "body")
            result = func(**kwargs)
            if isinstance(result, Response):
                return result
            response_obj = jsonify(result)
            response_obj.status_code = status
            return response_obj

        bp.add_url_rule(rule, endpoint=func.__name__, view_func=view, methods=[method])
        return view

    return decorator


# -- document ----------------------------------------------------------------------------------------------------

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string", "description": "stable machine name, e.g. not_found"},
        "message": {"type": "string", "description": "one human-readable sentence"},
        "details": {"type": "object", "description": "values that explain the error"}}}},
}

_CONVERTER_SCHEMAS = {"int": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                      "index": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}, "string": {"type": "string"},
                      "path": {"type": "string"}, "float": {"type": "number"}}


class _Components:
    def __init__(self):
        self.schemas: dict[str, Any] = {"Error": _ERROR_SCHEMA}

    def ref(self, model: Any) -> dict[str, Any]:
        """Schema for ``model`` (a pydantic model, ``list[Model]`` or a raw JSON schema dict)."""
        if isinstance(model, dict):
            return model
        origin = getattr(model, "__origin__", None)
        if origin is list:
            return {"type": "array", "items": self.ref(model.__args__[0])}
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas[name] = definition
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in required,
                 "schema": {k: v for k, v in prop.items() if k not in ("title", "description")}}
        if prop.get("description"):
            param["description"] = prop["description"]
        if prop.get("type") == "array":
            param["style"], param["explode"] = "form", True
        params.append(param)
    return params


def build_document(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation."""
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    tags: list[str] = []
    for op in REGISTRY:
        if op.tag not in tags:
            tags.append(op.tag)
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": ({"type": "string", "enum": conv[1]} if isinstance(conv, tuple)
                                  else _CONVERTER_SCHEMAS.get(conv, {"type": "string"}))}
                      for name, conv in op.path_params.items()]
        if op.query is not None:
            parameters += _query_parameters(op.query)
        entry: dict[str, Any] = {"operationId": op.endpoint.replace(".", "_"), "summary": op.summary,
                                 "tags": [op.tag], "parameters": parameters}
        if op.description:
            entry["description"] = op.description
        if op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": components.ref(op.body)}}}
        elif op.raw_body:
            entry["requestBody"] = {"required": True, "description": op.raw_body,
                                    "content": {"application/octet-stream": {
                                        "schema": {"type": "string", "format": "binary"}}}}
        if op.produces == "application/json":
            content = {"application/json": {"schema": components.ref(op.response) if op.response is not None
                                            else {"type": "object"}}}
        else:
            content = {op.produces: {"schema": {"type": "string"}}}
        responses: dict[str, Any] = {str(op.status): {"description": "success", "content": content}}
        # 400: any service may refuse a value; 404: ids in the path or the body may name nothing visible
        statuses = set(op.errors) | {400, 503}
        if op.auth:
            statuses |= {401, 403, 404}
        if op.body is not None or op.query is not None:
            statuses.add(422)
        if op.path_params:
            statuses.add(404)
        if op.path_params or op.query is not None:
            statuses.add(414)
        for code in sorted(statuses):
            responses[str(code)] = {"description": ERROR_STATUSES.get(code, "error"),
                                    "content": {"application/json": {
                                        "schema": {"$ref": "#/components/schemas/Error"}}}}
        entry["responses"] = responses
        if op.auth:
            entry["security"] = [{"session": []}, {"bearer": []}]
        paths.setdefault(openapi_path(op.rule), {})[op.method.lower()] = entry
    document = {
        "openapi": "3.1.0",
        "info": {"title": "RepSeq Server API", "version": API_VERSION,
                 "description": "REST API of RepSeq Server: sample sets, uploads, analyses and fused results. "
                                "Authenticate with the session cookie set by POST /api/v1/auth/login (then send "
                                "the X-CSRF-Token header on unsafe methods) or with `Authorization: Bearer "
                                "<API token>`. Errors are `{\"error\": {\"code\", \"message\", \"details\"}}`.",
                 "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"}},
        "paths": paths,
        "tags": [{"name": tag} for tag in tags],
        "components": {"schemas": components.schemas, "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "repseq_session"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "API token (POST /api/v1/auth/tokens)"},
        }},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI document (no authentication needed: it reveals no data)."""
    document = current_app.extensions.setdefault("repseq_openapi", None)
    if document is None:
        document = build_document()
        current_app.extensions["repseq_openapi"] = document
    return jsonify(document)


@bp.get("/docs")
def openapi_page():
    """Browsable API reference rendered from the document."""
    g.page_title = "API reference"
    return render_template("api_docs.html", document=build_document())
