"""Load the conformance plugin for runs from this checkout (``conformance run`` passes ``-p`` itself)."""

pytest_plugins = ["conformance.run.plugin"]
