# Two commands on a fresh machine: `make demo` and `make test`.
# Every install comes from uv.lock (hashes for every package); `make lock` refreshes it on purpose.
PYTHON ?= python3
VENV   ?= .venv
TOOLS  ?= .tools
BIN    := $(VENV)/bin
UV     := $(TOOLS)/bin/uv
STAMP  := $(VENV)/.installed-stamp

export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
export UV_NO_PROGRESS := 1

# The machine's PostgreSQL, Redis and RabbitMQ, for the second test pass (`make test-external`).
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_BROKER_URL   ?= redis://127.0.0.1:6379/15
TEST_AMQP_URL     ?= amqp://guest:guest@127.0.0.1:5672//
# Test processes in parallel (pytest-xdist); `make test JOBS=0` runs them in one process.
JOBS ?= auto

.PHONY: install lock lock-check deploy-check demo up down status test lint unit test-external test-amqp bench clean

$(UV): infra/deploy/uv-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r infra/deploy/uv-requirements.txt
	touch $(UV)

# The demo and the tests share one environment: the runtime, the embedded stack, the benchmarks
# and the development tools, exactly as locked.
$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --all-extras --python $(PYTHON) --quiet
	touch $(STAMP)

install: $(STAMP)

lock: $(UV)
	$(UV) lock --python $(PYTHON)

lock-check: $(UV)
	$(UV) lock --check --python $(PYTHON)

demo: install
	$(BIN)/vantage demo

up: install
	$(BIN)/vantage up

down:
	$(BIN)/vantage down

status:
	$(BIN)/vantage status

# The deploy files, offline: compose against the Compose Specification's schema, the Kubernetes
# manifests against Kubernetes' own schemas (strict), the KEDA ScaledObject against KEDA's CRD.
KUBE_MANIFESTS := $(filter-out %/kustomization.yaml %/autoscaling.yaml,$(wildcard infra/deploy/kubernetes/*.yaml))
deploy-check: install
	$(BIN)/check-jsonschema --schemafile infra/deploy/schemas/compose-spec.json infra/deploy/compose.yaml
	$(BIN)/kubernetes-validate --strict --quiet $(KUBE_MANIFESTS)
	$(BIN)/check-jsonschema --schemafile infra/deploy/schemas/keda-scaledobject.json \
		infra/deploy/kubernetes/autoscaling.yaml

lint: install lock-check deploy-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/deptry .

test: lint
	$(BIN)/pytest -n $(JOBS)

unit: install
	$(BIN)/pytest -n $(JOBS) -m "not integration"

test-external: install
	VANTAGE_TEST_DATABASE_URL=$(TEST_DATABASE_URL) VANTAGE_TEST_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest -n $(JOBS) -m "integration and not browser and not media and not broker"

# The broker-sensitive tests (queues, chords, redelivery, the reconciler) on RabbitMQ.
test-amqp: install
	VANTAGE_TEST_BROKER_URL=$(TEST_AMQP_URL) $(BIN)/pytest -n $(JOBS) -m broker

bench: install
	$(BIN)/vantage bench ladder

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
