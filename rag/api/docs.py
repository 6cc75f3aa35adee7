"""The API's reference page (``GET /docs``), written from its OpenAPI description, with nothing fetched from
elsewhere: FastAPI's own pages load Swagger UI and ReDoc from a CDN and are blank on a machine offline."""

from __future__ import annotations

from html import escape

METHODS = ("get", "post", "put", "patch", "delete")

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h2{margin-top:2rem;font-size:1.1rem}code{background:#f1f3f5;padding:0 .25rem;border-radius:3px}
.method{font-weight:700;text-transform:uppercase;margin-right:.5rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left}
section{border-top:1px solid #d0d7de;padding-top:.5rem}
"""


def page(schema: dict) -> str:
    """One HTML page: each route with its description, parameters, request body and replies."""
    info = schema.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(info.get('title', 'API'))}</h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        "<p>The machine-readable description: <a href='openapi.json'><code>/openapi.json</code></a>.</p>",
    ]
    for path, operations in schema.get("paths", {}).items():
        for method in METHODS:
            if method in operations:
                parts.append(_operation(schema, path, method, operations[method]))
    parts.append("</body></html>")
    return "".join(parts)


def _operation(schema: dict, path: str, method: str, op: dict) -> str:
    out = [f"<section><h2><span class='method'>{method}</span><code>{escape(path)}</code></h2>"]
    if op.get("summary"):
        out.append(f"<p><b>{escape(op['summary'])}</b></p>")
    if op.get("description"):
        out.append("".join(f"<p>{escape(p)}</p>" for p in op["description"].split("\n\n")))
    params = op.get("parameters", [])
    if params:
        rows = [
            (p["name"], p.get("in"), _type(schema, p.get("schema", {})), p.get("required", False), p.get("description"))
            for p in params
        ]
        out.append(_table(("parameter", "in", "type", "required", "description"), rows))
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        fields = _resolve(schema, body)
        required = set(fields.get("required", ()))
        rows = [
            (name, "body", _type(schema, spec), name in required, spec.get("description", ""))
            for name, spec in fields.get("properties", {}).items()
        ]
        out.append(_table(("field", "in", "type", "required", "description"), rows))
    responses = op.get("responses", {}).items()
    replies = ", ".join(f"{escape(code)} {escape(r.get('description', ''))}" for code, r in responses)
    if replies:
        out.append(f"<p>Replies: {replies}</p>")
    out.append("</section>")
    return "".join(out)


def _table(headers: tuple[str, ...], rows: list[tuple]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    return "" if value is None else escape(str(value))


def _resolve(schema: dict, spec: dict) -> dict:
    ref = spec.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return schema.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return spec


def _type(schema: dict, spec: dict) -> str:
    if "$ref" in spec:
        return spec["$ref"].rsplit("/", 1)[1]
    if "anyOf" in spec:
        return " | ".join(_type(schema, s) for s in spec["anyOf"])
    if spec.get("type") == "array":
        return f"array of {_type(schema, spec.get('items', {}))}"
    return str(spec.get("type", "any"))
