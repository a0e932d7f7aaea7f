"""``nb2prod lint``: notebook rules (hidden state, export readiness, portability, reproducibility,
hygiene) computed statically from the notebook file, merged with ruff's code rules."""
