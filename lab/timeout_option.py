"""`--timeout SECONDS` for subcommands: the one deadline of a command that talks to real hosts (lab/deadline.py)."""

from __future__ import annotations

import click

from nestlab.lab.deadline import DEFAULT_TIMEOUT


def option(function):
    """Add `--timeout` (default DEFAULT_TIMEOUT; 0: none) to a command, as its `timeout` argument."""
    return click.option(
        "--timeout", "timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT, show_default=True,
        metavar="SECONDS",
        help="Give up on hosts that have not answered everything within this many seconds "
             "(psrp:// and inventory: targets; 0: wait as long as they take).",
    )(function)
