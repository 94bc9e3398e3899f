"""Log records for the GELF exporter tests, as the SDK hands them to exporters."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource

RESOURCE = Resource({"service.name": "insurance-charges", "host.name": "ml-host-1", "service.version": "1.2.3"})
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331


def record(
    body: Any = "Prediction created.",
    *,
    severity: SeverityNumber = SeverityNumber.INFO,
    resource: Resource = RESOURCE,
    **attributes: Any,
) -> ReadableLogRecord:
    """One record with trace context, the current time and ``attributes`` (``_`` in names stands for ``.``)."""
    return ReadableLogRecord(
        LogRecord(
            timestamp=time.time_ns(),
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
            severity_number=severity,
            severity_text=severity.name,
            body=body,
            attributes={name.replace("__", "."): value for name, value in attributes.items()},
        ),
        resource,
    )
