"""Helpers that start and drive the real components tests run against."""
