"""Running the suite: what a run will do (plan), one case run (runner), and the pytest wiring (plugin, suite)."""
