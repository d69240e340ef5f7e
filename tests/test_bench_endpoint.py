"""The endpoint bench runs (a quick smoke run: no timing asserted), and its request counts are what
the wire does: one pool, then one pipeline per walk batch, guests included (direct.GUEST_BATCH)."""

from __future__ import annotations

import pytest

from bench import endpoint
from nestlab.simulator import labfile

pytestmark = pytest.mark.endpoint


def test_quick_run_reports_every_column_and_both_goals():
    report = endpoint.run(quick=True)
    assert report["rows"] and all(len(row) == len(report["columns"]) for row in report["rows"])
    assert {c["server"] for c in report["data"]["concurrency"]} == {"in process", "own process",
                                                                    f"own process, {endpoint.LATENCY_MS:g} ms per request"}
    assert report["data"]["latency"]["ms"] == endpoint.LATENCY_MS
    assert set(report["data"]["goals"]) >= {"requests_met", "ratio_met"}


def test_a_collection_costs_one_pool_and_one_pipeline_per_walk_batch():
    """Create + Receive, then Command + Receive per batch, then Delete: the walk is breadth first,
    so each batch carries a whole level of nesting (guests through PowerShell Direct inside it)."""
    (hv01,) = endpoint.measure_hosts(labfile.load("builtin:reference"), "builtin:reference")
    assert hv01.pipelines == 3  # HV01; HV01's disks + L1; L1's disks + L2-web + L2-app
    assert hv01.requests == 3 + 2 * hv01.pipelines
