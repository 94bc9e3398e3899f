"""Configuration of :class:`~otel_ml_logging.OTelLoggingDecorator`, validated at start-up.

The options arrive as the ``configuration:`` mapping of a rest-model-service decorator entry;
anything wrong fails start-up with a :class:`ConfigurationError` that names the option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RecordName = Literal["requested", "created", "exception"]

DEFAULT_MAX_VALUE_LENGTH = 1024
TRUNCATION_MARKER = "...[truncated]"


class ConfigurationError(ValueError):
    """A decorator option is invalid; the message names the option and the problem."""


class LoggingDecoratorConfig(BaseModel):
    """Options of :class:`~otel_ml_logging.OTelLoggingDecorator` (see the README reference table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_fields: tuple[str, ...] = Field(default=(), description="Input schema fields recorded per prediction.")
    output_fields: tuple[str, ...] = Field(default=(), description="Output schema fields recorded per prediction.")
    redact_fields: tuple[str, ...] = Field(default=(), description="Recorded fields replaced by '[REDACTED]'.")
    hash_fields: tuple[str, ...] = Field(default=(), description="Recorded fields replaced by a SHA-256 digest.")
    max_value_length: int = Field(
        default=DEFAULT_MAX_VALUE_LENGTH, ge=16, le=1_000_000, description="Longer string values are truncated."
    )
    payload_sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Fraction of predictions whose input/output fields are recorded; errors always are.",
    )
    records: tuple[RecordName, ...] = Field(
        default=("requested", "created", "exception"), description="Which log records to emit."
    )
    span: bool = Field(default=True, description="Emit one span per prediction.")
    metrics: bool = Field(default=True, description="Record prediction count, error count and latency metrics.")

    @model_validator(mode="after")
    def _check_field_lists(self) -> LoggingDecoratorConfig:
        recorded = set(self.input_fields) | set(self.output_fields)
        for option in ("redact_fields", "hash_fields"):
            unknown = [name for name in getattr(self, option) if name not in recorded]
            if unknown:
                raise ValueError(
                    f"{option} names {_quoted(unknown)}, which are not in input_fields or output_fields "
                    f"(recorded fields: {_quoted(sorted(recorded)) or 'none'})"
                )
        both = sorted(set(self.redact_fields) & set(self.hash_fields))
        if both:
            raise ValueError(f"fields {_quoted(both)} are in both redact_fields and hash_fields; choose one")
        for option in ("input_fields", "output_fields", "records"):
            values = getattr(self, option)
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"{option} lists {_quoted(duplicates)} more than once")
        return self

    @classmethod
    def from_options(cls, options: Mapping[str, Any], owner: str = "OTelLoggingDecorator") -> LoggingDecoratorConfig:
        """Validate decorator options, turning pydantic's errors into one readable ConfigurationError."""
        try:
            return cls.model_validate(dict(options))
        except ValidationError as error:
            raise ConfigurationError(f"{owner} configuration: {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    problems = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"])
        if detail["type"] == "extra_forbidden":
            valid = ", ".join(LoggingDecoratorConfig.model_fields)
            problems.append(f"unknown option '{location}' (valid options: {valid})")
        elif location:
            problems.append(f"option '{location}': {detail['msg']} (got {detail.get('input')!r})")
        else:
            problems.append(detail["msg"].removeprefix("Value error, "))
    return "; ".join(problems)


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)
