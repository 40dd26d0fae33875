"""What the emulator answers: Intercom's error envelope, and a reply before it goes on the wire."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html"


class ApiError(Exception):
    """An Intercom error answer (``error.list``) raised by an endpoint."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def not_found(code: str = "not_found", message: str = "Resource Not Found") -> ApiError:
    return ApiError(404, code, message)


def error_body(code: str, message: str, field: str | None = None) -> dict:
    err = {"code": code, "message": message}
    if field:
        err["field"] = field
    return {"type": "error.list", "request_id": str(uuid.uuid4()), "errors": [err]}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict = field(default_factory=dict)
    lost: str | None = None     # "reset" (RST) or "hang" (no answer, then close): nothing reaches the client


def json_reply(status: int, obj: object, headers: dict | None = None) -> Reply:
    return Reply(status, json.dumps(obj, separators=(",", ":")).encode(), JSON_TYPE, dict(headers or {}))


def error_reply(status: int, code: str, message: str, headers: dict | None = None) -> Reply:
    return json_reply(status, error_body(code, message), headers)


def html_reply(status: int, html: str, headers: dict | None = None) -> Reply:
    return Reply(status, html.encode(), HTML_TYPE, dict(headers or {}))
