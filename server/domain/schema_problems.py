"""jsonschema's refusals in the reader's language: its English message word for word, and the
same problem from the server's catalog in the others (server/messages.py)."""
from __future__ import annotations

import json

from trimtab.server.messages import Msg, msg, verbatim_english

# A refusal's msgid by JSON Schema keyword; {value} is the refused value, {limit} the keyword's.
BY_KEYWORD = {
    "required": msg("`{field}` is required"),
    "type": msg("{value} is not of type `{limit}`"),
    "enum": msg("{value} is not one of {limit}"),
    "const": msg("{value} is not {limit}"),
    "minimum": msg("{value} is less than the minimum of {limit}"),
    "maximum": msg("{value} is greater than the maximum of {limit}"),
    "exclusiveMinimum": msg("{value} is less than or equal to the minimum of {limit}"),
    "exclusiveMaximum": msg("{value} is greater than or equal to the maximum of {limit}"),
    "minLength": msg("{value} is too short (at least {limit} characters)"),
    "maxLength": msg("{value} is too long (at most {limit} characters)"),
    "minItems": msg("the list is too short (at least {limit} items)"),
    "maxItems": msg("the list is too long (at most {limit} items)"),
    "pattern": msg("{value} does not match the pattern `{limit}`"),
    "format": msg("{value} is not a valid `{limit}`"),
    "additionalProperties": msg("fields the form does not have: {names}"),
}
OTHER = msg("the value does not fit the form (`{keyword}`)")


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def problem_message(error) -> Msg:
    """A jsonschema ValidationError's message: English as jsonschema wrote it."""
    keyword, limit = error.validator, error.validator_value
    if keyword == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        field = next((f for f in limit if f not in instance), limit[0] if limit else "")
        return verbatim_english(error.message, BY_KEYWORD[keyword].msgid, field=field)
    if keyword == "additionalProperties":
        known = (error.schema.get("properties") or {}) if isinstance(error.schema, dict) else {}
        extra = [k for k in error.instance if k not in known] if isinstance(error.instance, dict) else []
        return verbatim_english(error.message, BY_KEYWORD[keyword].msgid, names="、".join(f"`{k}`" for k in extra))
    if keyword in BY_KEYWORD:
        shown = limit if isinstance(limit, (int, float, str)) else _shown(limit)
        return verbatim_english(error.message, BY_KEYWORD[keyword].msgid, value=_shown(error.instance), limit=shown)
    return verbatim_english(error.message, OTHER.msgid, keyword=keyword)
