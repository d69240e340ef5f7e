"""The endpoint bench runs (a quick smoke run: no timing asserted), and its request counts are what
the wire does: one pool, then one pipeline per walk batch, guests included (direct.GUEST_BATCH)."""

from __future__ import annotations

import os

import pytest

from bench import endpoint
from nestlab.simulator import labfile

pytestmark = pytest.mark.endpoint


def test_quick_run_reports_every_column_and_both_goals():
    report = endpoint.run(quick=True)
    assert report["rows"] and all(len(row) == len(report["columns"]) for row in report["rows"])
    per_cpu = {f"{os.cpu_count()} processes (one per CPU), {endpoint.LATENCY_MS:g} ms per request"} if (os.cpu_count() or 1) > 1 else set()
    assert {c["server"] for c in report["data"]["concurrency"]} == {"in process", "own process",
                                                                    f"own process, {endpoint.LATENCY_MS:g} ms per request", *per_cpu}
    assert report["data"]["latency"]["ms"] == endpoint.LATENCY_MS
    assert set(report["data"]["goals"]) >= {"requests_met", "ratio_met"}


def test_a_collection_costs_one_pool_and_one_pipeline_per_walk_batch():
    """Create + Receive, then Command + Receive per batch, then Delete: the first batch fans out
    to every Running guest below the host (direct.FANOUT), the second reads every platform's disks."""
    (hv01,) = endpoint.measure_hosts(labfile.load("builtin:reference"), "builtin:reference")
    assert hv01.pipelines == 2  # HV01 + L1, L2-web, L2-app; then the disks of all four
    assert hv01.requests == 3 + 2 * hv01.pipelines


def test_ten_requests_per_host_at_any_depth():
    """Issue 17 item 3: at most 10 HTTP requests per host, however deep the nesting."""
    from nestlab.simulator.generate import generate

    for depth in (1, 2, 3):
        for host in endpoint.measure_hosts(generate(seed=1, hosts=2, depth=depth), f"depth {depth}"):
            assert host.requests <= 10, (depth, host)
