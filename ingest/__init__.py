"""Ingest: turn files into Documents and Chunks (parse.parse_file) and write them to the store (sync)."""
