# RepSeq Server. `make run` sets up and starts everything; `make test` runs the test suite; `make stop` stops.
SHELL := /bin/bash
VENV ?= .venv
REPSEQ := $(VENV)/bin/repseq
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="tests/foundation -x"`.
PYTEST_ARGS ?=

.PHONY: run stop setup setup-test services test bench status

## run: install what is missing, start RabbitMQ/MariaDB/S3, migrate, start services + gateway, then the demo
## (demo account + demo patient with two real samples analysed; prints the URL and the demo credentials, and
## where the demo and administrator passwords are kept: $REPSEQ_VAR_DIR/demo.json)
run: setup
	$(REPSEQ) up
	@$(REPSEQ) demo || echo "make run: the server runs, but the demo could not be built (reason above)" >&2
	@echo "make run: the demo and administrator accounts' passwords are kept in" \
	  "$$($(REPSEQ) admin config REPSEQ_VAR_DIR)/demo.json (readable by you only); stop with: make stop"

## stop: stop what `make run` started (services, gateway, S3 server)
stop:
	@if [ -x $(REPSEQ) ]; then $(REPSEQ) down; else echo "nothing to stop"; fi

## setup: Debian packages, RabbitMQ, MariaDB, virtualenv, secrets, database user, germline database
setup:
	bash scripts/setup.sh

## setup-test: setup plus the Debian packages some tests need (LDAP server, headless browser, compose validator)
TEST_APT_PACKAGES ?= slapd ldap-utils chromium docker-compose
setup-test:
	REPSEQ_APT_EXTRA="$(TEST_APT_PACKAGES)" bash scripts/setup.sh

## services: only the infrastructure (RabbitMQ, MariaDB, S3 server)
services: setup
	$(REPSEQ) up --infra

## status: processes of the local stack and GET /health
status:
	$(REPSEQ) status

## test: the whole test suite against the real RabbitMQ, MariaDB and S3 server (exit 5 "no tests" fails)
test: setup-test
	@rc=0; $(VENV)/bin/pytest -q -ra --timeout=900 -p no:cacheprovider $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; exit $$rc

## bench: run every benchmark (benchmarks/bench_*.py), each printing its figures
bench: setup
	@shopt -s nullglob; files=(benchmarks/bench_*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no benchmarks yet"; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(VENV)/bin/python "$$f" || exit 1; done
