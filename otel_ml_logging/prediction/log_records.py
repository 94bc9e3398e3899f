"""Stamp stdlib log records written during a prediction with the prediction's identity.

Request attributes (:mod:`otel_ml_logging.prediction.request_attributes`) are stamped too, on every
record written while they are in effect.

A log-record factory (not a handler filter) is used so that every handler sees the fields:
the OpenTelemetry logging handler turns them into attributes, and JSON formatters on the
console can print them, as the ``prediction_id`` logging filter of the setup we replace did.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from otel_ml_logging.prediction.attributes import ML_MODEL_NAME, ML_MODEL_VERSION, ML_PREDICTION_ID
from otel_ml_logging.prediction.request_attributes import REQUEST_ATTRIBUTES
from otel_ml_logging.prediction.scope import current_prediction

_lock = threading.Lock()
_MARK = "_otel_ml_logging_factory"


def install_log_record_factory() -> None:
    """Wrap the current log-record factory; a second call is a no-op."""
    with _lock:
        previous = logging.getLogRecordFactory()
        if getattr(previous, _MARK, False):
            return

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            request = REQUEST_ATTRIBUTES.get()
            if request:
                record.__dict__.update(request)
            scope = current_prediction()
            if scope is not None:
                fields = record.__dict__
                fields[ML_PREDICTION_ID] = scope.prediction_id
                fields[ML_MODEL_NAME] = scope.model_name
                fields[ML_MODEL_VERSION] = scope.model_version
            return record

        setattr(factory, _MARK, True)
        factory.__wrapped__ = previous  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)


def uninstall_log_record_factory() -> None:
    """Restore the factory that was in place before :func:`install_log_record_factory`."""
    with _lock:
        current = logging.getLogRecordFactory()
        if getattr(current, _MARK, False):
            logging.setLogRecordFactory(current.__wrapped__)  # type: ignore[attr-defined]
