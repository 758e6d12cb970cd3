"""Answer-quality evaluation: datasets, metrics, the runner, reports and feedback export.

    precedent eval --dataset evals/datasets/sample.jsonl --ingest ingest/sample_corpus/docs --out runs/eval-sample
"""
