"""A platform's record → the form's facts: keys through the form's mapping file, values from
the platform's field types to the form schema's.

Platforms send member fields as objects, dates as ISO strings in UTC or millisecond stamps,
numbers sometimes as text, sub-forms as lists of records with their own widget keys, and
attachments as file objects.  Each is turned into what the form schema says."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from trimtab.dsl.percents import percent_text
from trimtab.server.core.errors import DomainError
from trimtab.server.messages import msg
from trimtab.server.plugin.fields import field_kind

# Keys platforms add to every record that are not form fields.
SYSTEM_KEYS = {"_id", "appId", "entryId", "creator", "updater", "deleter", "createTime",
               "updateTime", "deleteTime", "formName", "flowState", "wx_open_id", "record_id",
               "rowid", "ctime", "utime", "ownerid", "caid", "uaid", "formInstId"}


class Mappings:
    """Mapping files by platform and form: the deployment's own (TRIMTAB_MAPPINGS) first, the
    generated ones (plugin_manifests/mappings) second.  Read once per file change."""

    def __init__(self, *directories):
        self.directories = [Path(d) for d in directories if d]
        self._cache: dict = {}

    def get(self, platform: str, form: str) -> dict:
        for d in self.directories:
            path = d / platform / f"{form}.json"
            if path.exists():
                stamp = path.stat().st_mtime_ns
                found = self._cache.get(path)
                if found is None or found[0] != stamp:
                    try:
                        doc = json.loads(path.read_text(encoding="utf-8"))
                    except ValueError as err:
                        raise DomainError("bad_mapping", msg("{path}: not JSON ({err})", path=path, err=err)) from None
                    found = self._cache[path] = (stamp, doc)
                return found[1]
        raise DomainError("no_mapping", msg("no field mapping for `{form}` on {platform}",
                                            form=form, platform=platform), "$")


def record_to_facts(record: dict, mapping: dict, schema: dict, tz, path: str = "$.data") -> dict:
    """A platform record → facts; an unknown key is a 422 naming it."""
    return _record(record, mapping["fields"], mapping.get("subforms", {}),
                   schema.get("properties", {}), tz, path)


def _record(record, keys: dict, subforms: dict, props: dict, tz, path: str) -> dict:
    if not isinstance(record, dict):
        raise DomainError("schema_violation", msg("a record must be an object"), path)
    facts = {}
    for key, value in record.items():
        if key in SYSTEM_KEYS:
            continue
        name = keys.get(key)
        if name is None:
            raise DomainError("unknown_widget",
                              msg("`{key}` is not a field of this form (not in its mapping file)", key=key),
                              f"{path}.{key}")
        spec = props.get(name, {})
        where = f"{path}.{key}"
        if field_kind(name, spec) == "subform":
            if not isinstance(value, list):
                raise DomainError("schema_violation", msg("a sub-form is a list of records"), where)
            item_props = (spec.get("items") or {}).get("properties", {})
            facts[name] = [_record(item, subforms.get(name, {}), {}, item_props, tz, f"{where}[{i}]")
                           for i, item in enumerate(value)]
        else:
            facts[name] = convert(value, name, spec, tz, where)
    return facts


def convert(value, name: str, spec: dict, tz, where: str):
    """One platform value → the schema's type; values already right pass through."""
    if value is None:
        return None
    kind = field_kind(name, spec)
    if kind == "number":
        return _number(value, spec, where)
    if kind == "date":
        return _date(value, tz, where)
    if kind == "boolean":
        if isinstance(value, str) and value in ("是", "true", "True", "1"):
            return True
        if isinstance(value, str) and value in ("否", "false", "False", "0"):
            return False
        return value
    if kind == "attachment":
        files = value if isinstance(value, list) else [value]
        return [_attachment(f) for f in files]
    if kind in ("member", "department", "select", "text"):
        return _text(value, where)
    return value


def _number(value, spec: dict, where: str):
    if isinstance(value, bool):
        return value                                    # the schema check names it
    if isinstance(value, str) and spec.get("x-unit") in ("percent", "ratio"):
        fraction = percent_text(value)                  # "75%" → 0.75 (dsl/percents.py)
        if fraction is not None:
            return fraction
    if isinstance(value, str):
        try:
            value = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise DomainError("schema_violation", msg("`{value}` is not a number", value=value), where) from None
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():     # NaN, Infinity: not numbers
        raise DomainError("schema_violation", msg("`{value}` is not a number", value=value), where)
    if isinstance(value, Decimal) and value == value.to_integral_value() and spec.get("type") == "integer":
        return int(value)
    return value


def _date(value, tz, where: str) -> str:
    """ISO date, ISO date-time (in UTC unless it says otherwise) or a millisecond stamp → the
    date in the configured timezone."""
    try:
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            stamp = dt.datetime.fromtimestamp(int(value) / 1000, dt.timezone.utc)
            return stamp.astimezone(tz).date().isoformat()
        if isinstance(value, str) and len(value) > 10:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=tz)
            return stamp.astimezone(tz).date().isoformat()
        if isinstance(value, str):
            return dt.date.fromisoformat(value).isoformat()
    except (ValueError, OverflowError, OSError):
        pass
    raise DomainError("schema_violation", msg("`{value}` is not a date", value=value), where)


def _text(value, where: str) -> str:
    """Members ({username}/{id}), departments ({name}), options ({text}), text segments
    ([{text}]) and one-element lists of them → text."""
    if isinstance(value, list):
        if len(value) == 1:
            return _text(value[0], where)
        if all(isinstance(v, dict) and "text" in v for v in value):
            return "".join(str(v["text"]) for v in value)
        raise DomainError("schema_violation", msg("one value expected, got several"), where)
    if isinstance(value, dict):
        for key in ("username", "user_id", "id", "name", "text", "value"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        raise DomainError("schema_violation", msg("an object without a usable value"), where)
    return value if isinstance(value, str) else str(value)


def _attachment(f) -> str:
    if isinstance(f, dict):
        name, url = f.get("name") or f.get("file_name") or "", f.get("url") or f.get("tmp_url") or ""
        return f"{name} ({url})" if name and url else name or url
    return str(f)
