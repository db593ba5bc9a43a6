"""Liveness and the front door."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from trimtab.server.web.api_models.common import Answer


class Health(Answer):
    status: Literal["ok"]
    ruleset_version: str


class Front(Answer):
    """What `GET /` tells a client that is not a browser: what answers here and where to go."""
    name: Literal["trimtab"]
    ruleset_version: str
    workbench: str = Field(description="the HRBP workbench, in a browser")
    openapi: str = Field(description="this server's API, as an OpenAPI 3.1 document")
    health: str = Field(description="liveness")
