"""Shared base for every configuration model: strict about unknown fields, documented fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A configuration section. Unknown fields are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def field(default: Any, description: str, unit: str | None = None, **constraints: Any) -> Any:
    """A documented field: ``description`` says what it means, ``unit`` its unit (None: unitless)."""
    extra = {"unit": unit} if unit else None
    return Field(default, description=description, json_schema_extra=extra, **constraints)
