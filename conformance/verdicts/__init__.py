"""Layer 6: verdicts. The written policy that turns findings into one verdict per cell, the results a
run produces, per-target expectations (known gaps), and the audit's stale-vs-fail judgement."""
