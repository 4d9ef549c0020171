"""Where scanned bytes come from: the directory walker and source decoding."""
