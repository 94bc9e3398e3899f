"""Resource detector: host name and Kubernetes downward-API variables.

Registered as the ``otel_ml_logging`` entry point of ``opentelemetry_resource_detector``, and
enabled by the distro through ``OTEL_EXPERIMENTAL_RESOURCE_DETECTORS``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource, ResourceDetector

from otel_ml_logging.environment_variables import OTEL_ML_LOGGING_RESOURCE_ENV_MAP

_logger = logging.getLogger(__name__)

DEFAULT_RESOURCE_ENV_MAP: Mapping[str, str] = {
    "POD_NAME": "k8s.pod.name",
    "POD_NAMESPACE": "k8s.namespace.name",
    "NODE_NAME": "k8s.node.name",
    "NODE_IP": "host.ip",
}


def parse_env_map(spec: str) -> dict[str, str]:
    """Parse ``ENV=attribute,ENV2=attribute2``; malformed pairs are skipped with a warning."""
    mapping: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in spec.split(","))):
        env_name, sep, attribute = (piece.strip() for piece in pair.partition("="))
        if not sep or not env_name or not attribute:
            _logger.warning(
                "%s: ignoring malformed pair %r (expected ENV=attribute)", OTEL_ML_LOGGING_RESOURCE_ENV_MAP, pair
            )
            continue
        mapping[env_name] = attribute
    return mapping


def resource_env_map(environ: Mapping[str, str] = os.environ) -> Mapping[str, str]:
    """Return the env-var → resource-attribute map in force (configured or default)."""
    spec = environ.get(OTEL_ML_LOGGING_RESOURCE_ENV_MAP)
    return DEFAULT_RESOURCE_ENV_MAP if spec is None else parse_env_map(spec)


class MLServiceResourceDetector(ResourceDetector):
    """Detect ``host.name`` and the mapped environment variables.

    ``service.instance.id`` comes from the SDK's own ``service_instance`` detector.
    """

    def detect(self) -> Resource:
        """Return the detected attributes; unset variables are left out."""
        attributes: dict[str, str] = {"host.name": socket.gethostname()}
        for env_name, attribute in resource_env_map().items():
            value = os.environ.get(env_name)
            if value:
                attributes[attribute] = value
        return Resource(attributes)
