"""Sinks and exporters: telemetry values → SDK objects, OTLP JSON bytes or GELF messages, and the wire clients."""
