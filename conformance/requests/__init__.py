"""Layer 2: the concrete requests of a case for one target (placeholders filled, stream variants)."""
