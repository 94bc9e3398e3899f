"""Resource detector: ``host.name``, and ``host.ip`` as the string array semantic conventions define.

Used by the SDK set-up unless ``OTEL_EXPERIMENTAL_RESOURCE_DETECTORS`` is set; also registered as the
``otel_ml_logging`` entry point of ``opentelemetry_resource_detector`` to name it there. Everything that is a plain
string comes from the standard ``OTEL_RESOURCE_ATTRIBUTES`` (in Kubernetes:
``k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),k8s.node.name=$(NODE_NAME)``);
``host.ip`` is detected here because ``OTEL_RESOURCE_ATTRIBUTES`` can only carry strings.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource, ResourceDetector
from opentelemetry.semconv._incubating.attributes.host_attributes import HOST_IP, HOST_NAME
from opentelemetry.util.types import AttributeValue

HOST_IP_VARIABLE = "NODE_IP"
"""Downward API ``status.hostIP``, or ``status.hostIPs`` (comma-separated on dual-stack nodes)."""


def host_ips(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Return the addresses in :data:`HOST_IP_VARIABLE`, in order, without blanks or repeats."""
    addresses = (address.strip() for address in environ.get(HOST_IP_VARIABLE, "").split(","))
    return list(dict.fromkeys(address for address in addresses if address))


class MLServiceResourceDetector(ResourceDetector):
    """Detect ``host.name`` (this machine's name) and ``host.ip`` (string[], from ``NODE_IP``).

    ``service.instance.id`` comes from the SDK's own ``service_instance`` detector, which the SDK set-up
    (:mod:`otel_ml_logging.setup.providers`) adds next to this one.
    """

    def detect(self) -> Resource:
        """Return the detected attributes; ``host.ip`` is left out when ``NODE_IP`` is unset."""
        attributes: dict[str, AttributeValue] = {HOST_NAME: socket.gethostname()}
        addresses = host_ips()
        if addresses:
            attributes[HOST_IP] = addresses
        return Resource(attributes)
