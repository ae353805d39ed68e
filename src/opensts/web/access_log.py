"""The server's logs: its own messages (stderr) and, with ``--access-log``, one line per
request (stdout); as text, or as one JSON object per line with ``--log-format json``.

An access line has the time, the client's address (after ``--trusted-proxies``), method,
path, status, duration, request id and, for an API call, service, action and error code.
It never has the query string (presigned URLs carry their signature and session token
there), a header (Authorization, cookies) or a body. The path is the request's own text,
bounded and with control characters escaped, so a request cannot forge log lines.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from opensts.audit.notes import RequestNotes
from opensts.web import proxy
from opensts.web.asgi import Scope

ACCESS_LOGGER = "opensts.access"
LOG_FORMATS = ("text", "json")
MAX_PATH = 1024
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_ESCAPES[ord("\\")] = "\\\\"
_ESCAPES[ord('"')] = '\\"'


def _iso(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def json_line(level: str, logger: str, message: str) -> str:
    """A log line in JsonFormatter's shape, for messages written before logging is set up."""
    return orjson.dumps({"time": _iso(time.time()), "level": level, "logger": logger,
                         "message": message}).decode()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and an access record's
    fields (``extra={"access": {...}}``) at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {"time": _iso(record.created),
                               "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "access", None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(out).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _iso(record.created)


class AccessTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{_iso(record.created)} {record.getMessage()}"


def log_config(log_format: str, level: str, access_log: bool) -> dict[str, Any]:
    """``logging.config.dictConfig`` input for uvicorn (it applies it in every worker)."""
    json_format = log_format == "json"
    server = "opensts.web.access_log.JsonFormatter" if json_format else (
        "opensts.web.access_log.TextFormatter")
    access = "opensts.web.access_log.JsonFormatter" if json_format else (
        "opensts.web.access_log.AccessTextFormatter")
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"server": {"()": server}, "access": {"()": access}},
        "handlers": {
            "server": {"class": "logging.StreamHandler", "formatter": "server",
                       "stream": "ext://sys.stderr"},
            "access": {"class": "logging.StreamHandler", "formatter": "access",
                       "stream": "ext://sys.stdout"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["server"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # uvicorn's own access log stays off (it has the query string); this is ours.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "opensts": {"handlers": ["server"], "level": level, "propagate": False},
            ACCESS_LOGGER: {"handlers": ["access"] if access_log else [],
                            "level": "INFO" if access_log else "CRITICAL",
                            "propagate": False},
        },
    }


def clean_path(path: str) -> str:
    if len(path) > MAX_PATH:
        path = path[:MAX_PATH] + "..."
    return path.translate(_ESCAPES)


class AccessLog:
    """Writes through the ``opensts.access`` logger; whether it is on, and in which format,
    is the logging configuration's (:func:`log_config`)."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, scope: Scope, status: int, seconds: float, notes: RequestNotes,
              request_id: str) -> None:
        peer = proxy.origin(scope).address
        method = clean_path(str(scope.get("method", "")))
        path = clean_path(str(scope.get("path", "")))
        request_id = request_id or notes.request_id or "-"
        millis = round(seconds * 1000, 3)
        fields: dict[str, Any] = {
            "peer": peer, "method": method, "path": path, "status": status,
            "durationMs": millis, "requestId": request_id,
        }
        api = error = ""
        if notes.service is not None:
            fields.update(service=notes.service, action=notes.action,
                          errorCode=notes.error_code or None)
            api = f" {notes.service}:{notes.action}"
            error = f" {notes.error_code}" if notes.error_code else ""
        self.logger.info('%s "%s %s" %d %.1fms %s%s%s', peer, method, path, status, millis,
                         request_id, api, error, extra={"access": fields})
