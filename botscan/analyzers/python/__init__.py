"""The Python analyzer: one libcst parse and one traversal per file, all detectors together."""
