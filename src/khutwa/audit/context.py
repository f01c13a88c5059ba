"""The request id of the request being served, for audit events written during it."""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("khutwa_request_id", default="")
