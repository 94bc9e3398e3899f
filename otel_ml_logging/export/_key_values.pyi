from collections.abc import Callable

from otel_ml_logging.prediction.fields import Attributes
from otel_ml_logging.prediction.telemetry import AttributeGroups, SharedAttributes

def encode(attributes: Attributes, /) -> bytes | None:
    """Return the OTLP JSON ``KeyValue`` items of ``attributes``, comma-separated; None: Python must encode them."""

def encode_groups(
    shared: dict[int, bytes],
    alive: list[SharedAttributes],
    shared_type: type[SharedAttributes],
    limit: int,
    fallback: Callable[[Attributes], bytes],
    groups: AttributeGroups,
    converted: dict[int, bytes],
    /,
) -> bytes:
    """Return the items of disjoint groups, each encoded once (``converted``, ``shared``); see key_values.py."""
