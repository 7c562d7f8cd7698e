# Donghaeng Care — `make test` and `make demo` work on a fresh Debian machine with Node 20:
# they install what is missing (npm packages; Debian's influxdb, chromium and CJK fonts).
SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help deps system-deps build lint typecheck test demo start clean

help:
	@echo "make test   install what is missing, build, lint and run the whole suite"
	@echo "make demo   install what is missing, start the platform, seed a demo dong, run simulated homes"
	@echo "npm start   the platform only (after make test or make demo)"

node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund

deps: node_modules/.package-lock.json

system-deps:
	@bash scripts/ensure-system-deps.sh $(SYSTEM_PACKAGES)

build: deps
	npx tsc -p tsconfig.json

lint: deps
	npx eslint .

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

test: SYSTEM_PACKAGES = influxdb chromium fonts-noto-cjk
test: system-deps build lint
	npx vitest run

demo: SYSTEM_PACKAGES = $(if $(INFLUX_URL),,influxdb)
demo: system-deps build
	node dist/device-simulator/demo.js

start: build
	npm start

clean:
	rm -rf dist
