"""Layer 1: what to run and against what. Capability cases (YAML) and targets (YAML), loaded and validated."""
