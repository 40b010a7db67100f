"""What runs first when several things happen at the same virtual time: the lowest priority.

>>> sorted([Priority.SAMPLE, Priority.ARRIVAL, Priority.CONTROL])
[<Priority.CONTROL: 0>, <Priority.ARRIVAL: 1>, <Priority.SAMPLE: 9>]
"""

from enum import IntEnum

__all__ = ["Priority"]


class Priority(IntEnum):
    """The scheduler's priority for each kind of action in a simulation."""

    CONTROL = 0
    """Outages, fixes and rebuilds change the world before anyone acts in it."""
    ARRIVAL = 1
    """A command arrives."""
    READ = 2
    """A reader asks, or gives up waiting."""
    PROJECTOR = 3
    """A projector polls or commits."""
    SAMPLE = 9
    """The timeline samples the state once everything else at that instant has happened."""
