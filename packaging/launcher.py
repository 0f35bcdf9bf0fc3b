"""Entry point of the single-file executable: the same `main` as the `orderdesk` command."""

import sys

from orderdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
