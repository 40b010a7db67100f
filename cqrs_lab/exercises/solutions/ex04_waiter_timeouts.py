"""Worked solution of exercise 4: the waiter's timeout from a probe simulation's reads."""

import pandas as pd


def choose_timeout(reads: pd.DataFrame, target: float) -> float:
    """The smallest timeout that lets ``target`` of the probe's readers see their own write."""
    # with timeout T, a read sees its write when it needed to wait at most T: the share of
    # reads that do is the empirical CDF of the waits at T, so T is their quantile at `target`
    return float(reads["waited"].quantile(target))
