"""Tests of deploy/: compose, Kubernetes manifests, Helm values, Kibana and Graylog objects."""
