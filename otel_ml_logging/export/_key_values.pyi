from otel_ml_logging.prediction.fields import Attributes

def encode(attributes: Attributes, /) -> bytes | None:
    """Return the OTLP JSON ``KeyValue`` items of ``attributes``, comma-separated; None: Python must encode them."""
