# The two commands of README.md:
#   make demo   build and start collector + Elasticsearch, run the example model service, send predictions, show what arrived
#   make test   everything CI runs: lint, type checks, Go tests, all pytest suites against the real components
# Both install what they need on a fresh machine (Python venv, collector build, Elasticsearch, GELF decoders).

.PHONY: demo test setup floors collector generate elasticsearch kafka gelf-decoders nginx deploy-validators lint go-test pytest bench clean

demo: setup collector elasticsearch
	.venv/bin/python scripts/demo.py

test: setup floors collector elasticsearch kafka gelf-decoders nginx deploy-validators
	scripts/run-tests.sh

setup:
	scripts/setup-python.sh

floors: setup
	scripts/setup-floors.sh

collector:
	scripts/build-collector.sh

# Regenerate our collector components' internal/metadata, generated tests and documentation.md from their metadata.yaml.
generate:
	scripts/generate-collector.sh

elasticsearch:
	scripts/fetch-elasticsearch.sh >/dev/null

kafka:
	scripts/fetch-kafka.sh >/dev/null

gelf-decoders:
	scripts/fetch-gelf-decoders.sh >/dev/null

nginx:
	scripts/fetch-nginx.sh >/dev/null

deploy-validators: setup
	scripts/fetch-deploy-validators.sh >/dev/null

bench: setup collector elasticsearch kafka
	.venv/bin/python -m bench

clean:
	rm -rf collector/_build .cache .venv .venv-floors
