"""Exporters of the package: OTLP JSON over HTTP, GELF."""
