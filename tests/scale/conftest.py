"""The scale tests' real 3-node Elasticsearch cluster, started once for the package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.elasticsearch import ElasticsearchUnavailableError, apply_templates
from harness.elasticsearch_cluster import ElasticsearchCluster, run_elasticsearch_cluster
from harness.requirements import unavailable


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ElasticsearchCluster]:
    """Three real Elasticsearch nodes, the otel-ml-logging templates applied (one replica per shard)."""
    try:
        with run_elasticsearch_cluster(tmp_path_factory.mktemp("es-cluster"), size=3) as es:
            apply_templates(es.nodes[0])
            yield es
    except ElasticsearchUnavailableError as exc:
        unavailable("Elasticsearch", str(exc))
