"""Shared fixtures: the repository's paths, its form schemas, the shipped rule set."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SCHEMAS = ROOT / "form_schemas"


class DecimalLoader(yaml.SafeLoader):
    """YAML with exact decimals: 0.372 in a case file is Decimal('0.372'), as in a webhook."""


DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: Decimal(loader.construct_scalar(node).replace("_", "")))


def load_yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=DecimalLoader)


@pytest.fixture(scope="session")
def schemas():
    from dsl.schemas import load_schemas
    return load_schemas(SCHEMAS)


@pytest.fixture(scope="session")
def shipped(schemas):
    from dsl.ruleset import load
    return load(RULES, SCHEMAS)


def shared_sources():
    """Roles and reference values every case may name, as shipped."""
    return [(str(RULES / n), (RULES / n).read_text(encoding="utf-8"))
            for n in ("roles.rules", "references.rules")]
