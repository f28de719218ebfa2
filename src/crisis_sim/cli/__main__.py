"""``python -m crisis_sim.cli`` is ``crisis-sim``."""

import sys

from crisis_sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
