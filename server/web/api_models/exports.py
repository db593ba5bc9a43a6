"""A form exported in the shape each platform's import or API takes (server/plugin/export.py):
the field types are the platform's own codes; the limits come from the form's schema."""
from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, Field, RootModel

from trimtab.server.web.api_models.common import Answer, OpenAnswer


class ExportPath(BaseModel):
    """The platform and the form."""
    platform: str = Field(description="generic, feishu, jiandaoyun, mingdao or yida",
                          json_schema_extra={"enum": ["generic", "jiandaoyun", "mingdao", "yida", "feishu"]})
    form: str = Field(description="a form of the rule set (GET /v1/forms)", min_length=1, max_length=200)


class Limits(Answer):
    """The field's limits, as the form's schema states them (present when it states them)."""
    min: Any = None
    max: Any = None
    minLength: int | None = None
    maxLength: int | None = None
    minItems: int | None = None
    maxItems: int | None = None
    pattern: str | None = None
    precision: int | None = Field(None, description="decimal places (the schema's x-decimals)")


# ---------------------------------------------------------------------- 飞书
class FeishuText(Answer):
    text: str


class FeishuOption(Answer):
    name: str


class FeishuProperty(Answer):
    options: list[FeishuOption] | None = None
    formatter: str | None = None
    date_formatter: str | None = None


class FeishuField(Answer):
    """A Bitable field of the create-table body."""
    field_name: str
    type: int = Field(description="1 text, 2 number, 3 single select, 5 date, 7 checkbox, 11 person, 17 attachment")
    description: FeishuText
    property: FeishuProperty | None = None


class FeishuTable(Answer):
    name: str
    default_view_name: str
    fields: list[FeishuField]


class FeishuExport(Answer):
    """飞书多维表格: the body of POST /bitable/v1/apps/:app_token/tables."""
    table: FeishuTable


# ---------------------------------------------------------------------- 简道云
class JdyWidget(Limits):
    label: str
    name: str
    type: str
    required: bool
    items: list[Union[str, "JdyWidget"]] | None = Field(None, description="a select's options, or a "
                                                                           "sub-form's widgets")


class JdyExport(Answer):
    """简道云: the form and its widgets."""
    name: str
    alias: str
    widgets: list[JdyWidget]


# ---------------------------------------------------------------------- 明道云
class MingdaoOption(Answer):
    value: str
    index: int


class MingdaoControl(Limits):
    controlName: str
    alias: str
    type: int
    required: bool
    options: list[MingdaoOption] | None = None
    relationControls: list["MingdaoControl"] | None = Field(None, description="a sub-table's controls")


class MingdaoExport(Answer):
    """明道云: the worksheet and its controls."""
    name: str
    alias: str
    controls: list[MingdaoControl]


# ---------------------------------------------------------------------- 宜搭
class YidaOption(Answer):
    text: str
    value: str


class YidaComponent(Limits):
    componentName: str
    label: str
    fieldId: str
    required: bool
    dataSource: list[YidaOption] | None = None
    children: list["YidaComponent"] | None = Field(None, description="a table field's columns")


class YidaExport(Answer):
    """宜搭: the form and its components."""
    formTitle: str
    formCode: str
    components: list[YidaComponent]


class GenericExport(OpenAnswer):
    """generic: the form's JSON Schema with the rules' constraints (as GET /v1/forms/{form})."""
    type: str
    properties: dict[str, Any]


class Export(RootModel[Union[FeishuExport, JdyExport, MingdaoExport, YidaExport, GenericExport]]):
    """The form in the platform's shape."""


class OldExportPath(BaseModel):
    """Any form name: the redirect does not look it up (the export it leads to does)."""
    form: str = Field(min_length=1, description="the form")
