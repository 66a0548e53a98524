# Herald — make run starts the server, make test runs every test.
SHELL := /bin/bash

# Find a JDK >= 21 (the machine's default java may be 17). Prefer the newest: JDK 24+
# does not pin virtual threads on synchronized.
JAVA_HOME := $(shell \
  for j in $$JAVA_HOME /usr/lib/jvm/* /opt/java/* /opt/jdk*; do \
    [ -x "$$j/bin/javac" ] || continue; \
    v=$$("$$j/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
    [ "$${v:-0}" -ge 21 ] && echo "$$v $$j"; \
  done | sort -n | tail -1 | cut -d' ' -f2)
export JAVA_HOME
MVN := ./mvnw -B -ntp
JAR := target/herald.jar
# Herald's JVM options, shared by `make run`, the distribution's bin/herald and the bench's
# servers under test (a java argument file; see the file itself).
JVM_OPTIONS := jvm.options

.PHONY: run build dist test verify bench jooq clean check-jdk browser-deps format

# Browser tests (src/test/browser, run by dev.herald.browser.TestInboxPage): playwright-core from npm
# driving Debian's Chromium. Nothing downloads a browser: Chromium comes from apt.
BROWSER_TESTS := src/test/browser

check-jdk:
	@if [ -z "$(JAVA_HOME)" ]; then \
	  echo "error: no JDK >= 21 found (looked in \$$JAVA_HOME, /usr/lib/jvm, /opt). Install one, e.g. Temurin 25." >&2; exit 1; fi
	@echo "using JDK at $(JAVA_HOME)"

build: check-jdk
	$(MVN) -DskipTests package

$(JAR): pom.xml $(shell find src/main migrations jooq-codegen -type f 2>/dev/null)
	$(MAKE) build

run: $(JAR)
	"$(JAVA_HOME)/bin/java" @$(JVM_OPTIONS) -jar $(JAR)

# The download that runs without a JDK: target/dist/herald-<version>-linux-x64.tar.gz with a
# jlinked runtime, the jar and bin/herald (src/dist/build-dist.sh). Maven builds it right before
# the integration tests, which run it; this stops there.
dist: check-jdk
	$(MVN) -DskipTests pre-integration-test
	@ls -l target/dist/*.tar.gz

test: check-jdk browser-deps
	$(MVN) verify

# Chromium from Debian (installed when missing and running as root) and playwright-core and
# typescript (tsc checks /herald.d.ts, TestTypeScriptClient) from package-lock.json (npm ci, only
# when the lock changed). Without node the browser tests and the tsc check skip.
browser-deps:
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  echo "note: node/npm not found: the browser tests will be skipped"; exit 0; fi; \
	if [ ! -x "$${CHROMIUM:-/usr/bin/chromium}" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "error: Chromium is missing: sudo apt-get install -y chromium (or set CHROMIUM)" >&2; exit 1; fi; \
	fi; \
	if [ ! -f $(BROWSER_TESTS)/node_modules/.package-lock.json ] \
	   || [ $(BROWSER_TESTS)/package-lock.json -nt $(BROWSER_TESTS)/node_modules/.package-lock.json ]; then \
	  cd $(BROWSER_TESTS) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts; \
	fi

# The load benchmark (bench/README.md): its own Maven module, compiled against the server jar.
# `make bench QUICK=1` runs the same scenarios with smaller counts in about 2 minutes.
# BENCH_ARGS: e.g. "--only=e2e --e2e=20:50:5:100"; BENCH_OUT: where RESULTS.md and latency.png go.
BENCH_ARGS ?=
BENCH_OUT ?= bench
BENCH_CP := bench/target/classes:bench/target/lib/*:$(JAR)
BENCH_STAMP := bench/target/.built
$(BENCH_STAMP): bench/pom.xml $(shell find bench/src -type f 2>/dev/null) $(JAR)
	$(MVN) -q -f bench/pom.xml package
	@touch $@
bench: check-jdk $(JAR) $(BENCH_STAMP)
	"$(JAVA_HOME)/bin/java" -Xms1g -Xmx1g --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true \
	  -Dherald.jar=$(JAR) -Dherald.jvmOptions=$(JVM_OPTIONS) \
	  -cp "$(BENCH_CP)" dev.herald.bench.Bench $(if $(filter 1 true yes,$(QUICK)),--quick) $(BENCH_ARGS) $(BENCH_OUT)

# Applies the one Java format (palantir-java-format via Spotless); `make test` checks it.
format: check-jdk
	$(MVN) -q spotless:apply

jooq: check-jdk
	$(MVN) generate-sources

clean:
	$(MVN) clean
