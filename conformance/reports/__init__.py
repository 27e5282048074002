"""Layer 7: reports. The capability matrix (terminal, Markdown), results files, and the audit's report."""
