"""``python -m cqrs_lab``: the kit's command line (see :mod:`cqrs_lab.sim.cli`)."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["project"]:
        # the projector process starts without importing the simulator (pandas and all)
        from cqrs_lab.examples.orders.projector_process import main
    else:
        from cqrs_lab.sim.cli import main  # every subcommand, help included
    sys.exit(main(sys.argv[1:]))
