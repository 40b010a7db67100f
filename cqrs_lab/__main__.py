"""``python -m cqrs_lab``: the kit's command line (see :mod:`cqrs_lab.sim.cli`)."""

import sys

from cqrs_lab.sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
