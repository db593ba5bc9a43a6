"""Types every area shares: texts and numbers within the server's limits, whole numbers in a
query string, the error body and a list page."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from trimtab.dsl.values import MAX_ID_TEXT, MAX_NUMBER, MAX_TEXT
from trimtab.server.messages import msg

MAX_ID = 2 ** 31 - 1              # the id columns are INTEGER: 32 bits on PostgreSQL
MAX_DECISION_ID = 2 ** 53 - 1     # decisions' ids: BIGINT, exact as a JSON number (server/web/http.py)


class Request(BaseModel):
    """A request body: fields it does not name are ignored, as the routes always did."""
    model_config = ConfigDict(extra="ignore", frozen=True)


class Answer(BaseModel):
    """A response body: its schema names every field the server writes (a field it does not
    name fails the response check), and which of them are always there."""
    model_config = ConfigDict(extra="forbid")


class OpenAnswer(BaseModel):
    """A response body that carries fields beyond the ones named (facts, a rule's details)."""
    model_config = ConfigDict(extra="allow")


def text(max_length: int = MAX_TEXT, min_length: int = 1, **extra) -> Any:
    """A text of 1 … max_length characters (the intake's own checks refuse NUL and lone
    surrogates before a model sees the body)."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, **extra)]


Text = text()
PersonId = text(MAX_ID_TEXT, description="a person's id (the org chart's `id`)")
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _exact(value):
    """A JSON number as an exact Decimal: the body's parser gives ints and Decimals; a bool is
    not a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


def number(minimum: float | int | None = None, maximum: float | int | None = None,
           description: str | None = None) -> Any:
    """A JSON number read as an exact Decimal, within [minimum, maximum] (else |x| < 10^15)."""
    low = -(MAX_NUMBER - 1) if minimum is None else minimum
    high = MAX_NUMBER - 1 if maximum is None else maximum
    schema: dict = {"type": "number", "minimum": low, "maximum": high}
    if description:
        schema["description"] = description
    return Annotated[Decimal, BeforeValidator(_exact), Field(ge=low, le=high), WithJsonSchema(schema)]


Number = number()


def _integral(value):
    """A JSON number with no fraction as an int: `5` and `5.0` alike (JSON Schema's
    `integer` counts both; the body's parser gives the second as a Decimal)."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


def whole(minimum: int, maximum: int, description: str | None = None) -> Any:
    """A whole number of a JSON body within [minimum, maximum] (`5.0` is 5; a bool is not)."""
    schema: dict = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if description:
        schema["description"] = description
    return Annotated[int, BeforeValidator(_integral), Field(ge=minimum, le=maximum), WithJsonSchema(schema)]


def _digits(name_low_high):
    def parse(value):
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(msg("a whole number from {low} to {high}", low=name_low_high[0], high=name_low_high[1]))
    return parse


def query_int(low: int, high: int, description: str | None = None) -> Any:
    """A whole number in a query string: ASCII digits only (no sign, space or `1_000`)."""
    schema: dict = {"type": "integer", "minimum": low, "maximum": high}
    if description:
        schema["description"] = description
    return Annotated[int, BeforeValidator(_digits((low, high))), Field(ge=low, le=high),
                     WithJsonSchema(schema)]


class Page(BaseModel):
    """`limit` and `after` of a list route: up to `limit` rows with ids above `after`."""
    model_config = ConfigDict(extra="ignore")
    limit: query_int(1, 500, "rows in one page (default 50)") = 50        # type: ignore[valid-type]
    after: query_int(0, MAX_ID, "the last id of the page before (default 0)") = 0   # type: ignore[valid-type]


class ErrorDetail(BaseModel):
    """A refusal: its code (which decides the status), the message in the request's language,
    where in the request it is (`$.field[0]`, or null), and fields some refusals add (the rule,
    the file and line of a rule error, a hint, the removals a reload needs confirmed…)."""
    model_config = ConfigDict(extra="allow")
    code: str
    message: str
    path: str | None


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail
