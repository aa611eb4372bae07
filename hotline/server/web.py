"""The HTTP side of the server port: the operator console, the caller page, their assets,
and two small JSON answers. Websocket paths never reach this module.

Only files that sit directly in ``hotline/static`` and have a known type are served, so no
path can climb out of that folder. Pages need a secure context for the microphone
(AudioWorklet): ``http://localhost``/``127.0.0.1`` qualifies; anything else needs HTTPS in
front of the server.
"""

from __future__ import annotations

import functools
import json
import re
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Response

from hotline.call.prompts import LANGUAGE_NAMES
from hotline.call.routing import Switchboard
from hotline.wire.vocabulary import PROTOCOL_VERSION

__all__ = ["STATIC_DIR", "CONTENT_TYPES", "binary_response", "respond", "text_response"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
"""The pages load only their own scripts and styles and talk only to this server; no
other site may frame them (clickjacking) or inject script."""

PAGES = {
    "/": "console.html",
    "/console": "console.html",
    "/caller": "caller.html",
    "/wall": "wall.html",
    "/qa": "qa.html",
    "/dashboard": "dashboard.html",
}
_ASSET = re.compile(r"/static/([A-Za-z0-9_-][A-Za-z0-9_.-]{0,80})")


def respond(request: Any, switchboard: Switchboard | None, menu_languages: list[str]) -> Response:
    """The answer to one plain HTTP GET on the server port."""
    path = request.path.split("?", 1)[0]
    if path == "/healthz":
        return _json(
            {
                "status": "ok",
                "protocol": PROTOCOL_VERSION,
                "operators": len(switchboard.seats) if switchboard else 0,
                "waiting": len(switchboard.waiting) if switchboard else 0,
                "calls": len(switchboard.calls) if switchboard else 0,
                "capacity": switchboard.capacity if switchboard else 0,
            }
        )
    if path == "/api/languages":
        return _json(
            {
                "languages": [
                    {"code": code, "name": LANGUAGE_NAMES.get(code, code)}
                    for code in menu_languages
                ]
            }
        )
    if path in PAGES:
        return _file(PAGES[path])
    match = _ASSET.fullmatch(path)
    if match and ".." not in match.group(1):
        return _file(match.group(1))
    return _text(HTTPStatus.NOT_FOUND, f"no such page: {path}\n")


@functools.cache
def _read_static(name: str) -> bytes | None:
    """The bytes of a file directly inside STATIC_DIR with a known type, else None."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or path.suffix not in CONTENT_TYPES or not path.is_file():
        return None
    return path.read_bytes()


def _file(name: str) -> Response:
    body = _read_static(name)
    if body is None:
        return _text(HTTPStatus.NOT_FOUND, f"no such file: {name}\n")
    return _response(HTTPStatus.OK, CONTENT_TYPES[Path(name).suffix], body)


def _json(body: dict) -> Response:
    return _response(
        HTTPStatus.OK, "application/json", (json.dumps(body, ensure_ascii=False) + "\n").encode()
    )


def text_response(
    status: HTTPStatus, text: str, content_type: str = "text/plain; charset=utf-8"
) -> Response:
    """A plain answer (an error, TwiML) with the same headers every page gets."""
    return _response(status, content_type, text.encode())


def binary_response(status: HTTPStatus, content_type: str, body: bytes) -> Response:
    """Bytes (a span of a recording) with the same headers every page gets."""
    return _response(status, content_type, body)


def _text(status: HTTPStatus, text: str) -> Response:
    return text_response(status, text)


def _response(status: HTTPStatus, content_type: str, body: bytes) -> Response:
    headers = Headers(
        [
            ("Date", formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
        ]
    )
    return Response(status.value, status.phrase, headers, body)
