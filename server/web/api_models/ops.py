"""Liveness."""
from __future__ import annotations

from typing import Literal

from trimtab.server.web.api_models.common import Answer


class Health(Answer):
    status: Literal["ok"]
    ruleset_version: str
