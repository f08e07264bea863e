"""Each event's JSON body as a pydantic model built from its payload's declared fields, for
the OpenAPI schema and for checking a body before the flow sees it.

A body the model refuses gets the `request.*` codes of regflow's catalogue with the field
they concern; the flow's own rules judge every value that gets through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pydantic

from regflow import ERRORS, FlowError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from regflow.declare import EventInfo, FlowSpec

_STRICT = pydantic.ConfigDict(extra="forbid", strict=True)
#: pydantic's error types, as the catalogue's codes.
_CODES = {
    "missing": "request.field_missing",
    "string_type": "request.field_type",
    "extra_forbidden": "request.field_unknown",
    "string_too_long": "request.field_too_long",
}


def body_model(spec: FlowSpec, name: str, info: EventInfo) -> type[pydantic.BaseModel]:
    """The body of `spec`'s event `name`: one string per payload field, as typed."""
    fields: dict[str, Any] = {}
    for field in info.fields:
        default: Any = ... if field.required else None  # `...`: pydantic's "required"
        described = pydantic.Field(
            default=default,
            title=field.label.en,
            description=field.label.vi,
            max_length=field.max_length,
            pattern=field.pattern,
            json_schema_extra={
                "x-kind": field.type,
                "x-label": {"vi": field.label.vi, "en": field.label.en},
            },
        )
        fields[field.name] = (str if field.required else str | None, described)
    title = f"{spec.name}_v{spec.version}_{name}"
    return pydantic.create_model(title, __config__=_STRICT, __doc__=info.label.en, **fields)


def parse(model: type[pydantic.BaseModel], body: bytes) -> dict[str, Any] | tuple[FlowError, ...]:
    """The fields `body` gives (an empty body: none), or why it is refused."""
    try:
        parsed = model.model_validate_json(body or b"{}")
    except pydantic.ValidationError as refused:
        return tuple(_error(problem) for problem in refused.errors())
    return parsed.model_dump(exclude_unset=True)


def refusal(code: str, field: str | None = None) -> FlowError:
    """The catalogue's error `code`, about `field`."""
    return FlowError(code=code, message=ERRORS[code].message, field=field)


def _error(problem: ErrorDetails) -> FlowError:
    location = problem["loc"]
    field = location[0] if location and isinstance(location[0], str) else None
    if field is None:
        return refusal("request.malformed")
    return refusal(_CODES.get(problem["type"], "request.field_invalid"), field)
