# Two commands on a fresh machine: `make demo`, `make test`. Each creates .venv by itself.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test bench accuracy image clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "make: $(PY) not found; run with PY=python3" >&2; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(STAMP)

demo: $(STAMP)
	$(BIN)/nestlab demo

# The whole suite in process, then the BDD scenarios again through pypsrp against the simulator
# served as a WS-Management/PSRP endpoint on loopback.
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --lab=endpoint features

# Every figure of issue 17 as a same-run ratio (a few minutes); `make bench QUICK=1`: small sizes, about a minute.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(if $(QUICK),--quick)

# One machine: `make accuracy`. Past one: `make accuracy SHARD=2/4` on each of 4 machines, then
# `make accuracy MERGE='bench/results/accuracy-shards/shard-*-of-4.json'` adds the slices up.
accuracy: $(TEST_STAMP)
	$(BIN)/python -m bench.accuracy --labs 200 $(if $(SHARD),--shard $(SHARD)) $(if $(MERGE),--merge $(MERGE))

# The container image for `nestlab up` (debootstrap base, cached by its inputs; no registry needed).
image: $(STAMP)
	$(BIN)/pip install --quiet -e '.[docker]'
	$(BIN)/python -m nestlab.lab.image

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
