"""Shared base for every configuration model: strict about unknown fields, documented fields."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Section(BaseModel):
    """A configuration section. Unknown fields are errors, values are validated on assignment.

    Numbers are finite (``.inf`` or ``.nan`` is no physical constant and poisons every result
    downstream) and never booleans (``epochs: true`` is a mistake, not 1)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            kinds = _scalar_types(cls.model_fields[info.field_name].annotation)
            if bool not in kinds and kinds & {int, float}:
                raise ValueError(f"a number is needed, not the boolean {str(value).lower()}")
        return value


def _scalar_types(annotation: Any) -> set[Any]:
    """The plain types an annotation admits, through Optional, unions and Literal."""
    if typing.get_origin(annotation) is typing.Literal:
        return {type(v) for v in typing.get_args(annotation)}
    args = typing.get_args(annotation)
    if args and typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(_scalar_types(a) for a in args))
    return {annotation}


def field(default: Any, description: str, unit: str | None = None, **constraints: Any) -> Any:
    """A documented field: ``description`` says what it means, ``unit`` its unit (None: unitless)."""
    extra = {"unit": unit} if unit else None
    return Field(default, description=description, json_schema_extra=extra, **constraints)
