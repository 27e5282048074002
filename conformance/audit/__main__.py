import sys

from conformance.audit.main import main

raise SystemExit(main(sys.argv[1:]))
