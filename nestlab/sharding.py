"""`pytest --shard i/n`: run the i-th of n disjoint slices of the suite, e.g. one per CI machine.

A test belongs to slice `1 + sha256(nodeid) mod n`: the split depends only on the test's id, so
every machine computes the same slices without talking to the others, a test stays in its slice
when tests are added elsewhere, and the n slices together are the whole suite exactly once.
Within a machine, pytest-xdist (`-n auto`) spreads a slice over its cores; the two compose.

Accuracy campaigns split the same way by case index (`python -m bench.accuracy --shard i/n`),
and `make accuracy` merges the slices' results (bench/accuracy.py).

The root conftest loads this plugin; elsewhere `-p nestlab.sharding`.
"""

from __future__ import annotations

import hashlib
import re

import pytest

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """'2/5' → (2, 5): slice 2 of 5 (slices count from 1); ValueError naming what is wrong."""
    match = _SHARD.match(text or "")
    if not match:
        raise ValueError(f"--shard {text!r}: give I/N, e.g. 1/4 (slice I of N, counted from 1)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"--shard {text!r}: I must be between 1 and N, and N at least 1")
    return index, count


def shard_of(key: str, count: int) -> int:
    """The slice (1..count) a test id or case key belongs to."""
    return 1 + int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % count


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nestlab").addoption(
        "--shard", default=None, metavar="I/N",
        help="run only slice I of N of the collected tests (split by test id; the same on every machine)")


def pytest_configure(config: pytest.Config) -> None:
    text = config.getoption("--shard")
    if text is not None:
        try:
            config._nestlab_shard = parse_shard(text)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = getattr(config, "_nestlab_shard", None)
    if shard is None:
        return
    index, count = shard
    keep, drop = [], []
    for item in items:
        (keep if shard_of(item.nodeid, count) == index else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str | None:
    shard = getattr(config, "_nestlab_shard", None)
    return f"nestlab shard: {shard[0]}/{shard[1]} (by sha256 of the test id)" if shard else None
