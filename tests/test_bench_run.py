"""`make bench` runs, writes its run files, and says why for a figure it cannot measure (no timing asserted).

The scripts bench is also checked for what its ratio claims: the structured side runs the very
cmdlet calls the script made, and they answer the same."""

from __future__ import annotations

import json
import sys
import types

import pytest

from bench import scripts
from bench.__main__ import main
from nestlab.simulator import labfile, powershell

pytestmark = pytest.mark.endpoint


def test_a_quick_run_writes_the_run_and_latest_as_json_and_markdown(tmp_path):
    assert main(["--quick", "--only", "scripts", "--results", str(tmp_path)]) == 0
    (run_json,) = (tmp_path / "runs").glob("run-*-quick.json")
    assert run_json.with_suffix(".md").exists()
    result = json.loads(run_json.read_text(encoding="utf-8"))
    assert json.loads((tmp_path / "latest-quick.json").read_text(encoding="utf-8")) == result
    assert result["run"]["name"] == run_json.stem and result["run"]["quick"] is True
    figures = result["figures"]
    assert figures and {f["bench"] for f in figures} == {"scripts"}
    assert all(set(f) >= {"figure", "ratio", "goal", "met"} for f in figures)
    assert any(f["ratio"] is not None and f["met"] is not None for f in figures)  # a measured ratio with its goal
    markdown = (tmp_path / "latest-quick.md").read_text(encoding="utf-8")
    assert markdown.startswith(f"# make bench: {run_json.stem}")
    for f in figures:
        assert f"| scripts | {f['figure']} |" in markdown
    assert not (tmp_path / "latest.json").exists()  # a quick run never stands in for a full one
    assert result["run"]["isolated"] is True  # each bench in an interpreter of its own, by default


def test_a_bench_runs_in_a_fresh_interpreter_and_its_report_comes_back_whole(monkeypatch):
    """bench/isolated.py: the bench runs in a new `python -m bench.isolated` (no bench inherits
    another's heap), and the report that child writes is what the parent gets back."""
    from bench import isolated

    commands: list[list[str]] = []
    real_run = isolated.subprocess.run

    def spy(command, **kwargs):
        commands.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(isolated.subprocess, "run", spy)
    report = isolated.run_isolated("startup", quick=True)
    assert [c[1:4] for c in commands] == [["-m", "bench.isolated", "startup"]]
    assert report["title"] and report["ratios"] and "not measured" not in report["title"]
    assert all(set(f) >= {"figure", "ratio", "goal", "met"} for f in report["ratios"])


def test_a_child_that_ends_without_a_report_is_a_figure_that_says_why():
    from bench import isolated

    report = isolated.run_isolated("startup", quick=True, python="/bin/false")
    (figure,) = report["ratios"]
    assert figure["ratio"] is None and figure["met"] is None
    assert figure["goal"].startswith("not measured: its process ended with exit code 1 and no report")


def test_a_bench_that_fails_is_a_figure_that_says_why_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    broken = types.ModuleType("bench.broken")

    def run(*, quick):
        raise RuntimeError("no Docker engine answers at unix:///var/run/docker.sock")

    broken.run = run
    monkeypatch.setitem(sys.modules, "bench.broken", broken)
    monkeypatch.setattr("bench.__main__.BENCHES", ("broken", "scripts"))
    assert main(["--quick", "--in-process", "--only", "broken", "--only", "scripts", "--results", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "latest-quick.json").read_text(encoding="utf-8"))
    (failed,) = [f for f in result["figures"] if f["bench"] == "broken"]
    assert failed["ratio"] is None and failed["met"] is None
    assert failed["goal"].startswith("not measured: RuntimeError: no Docker engine answers")
    assert any(f["bench"] == "scripts" for f in result["figures"])
    assert "Traceback" not in capsys.readouterr().out


def test_the_structured_side_is_the_scripts_own_collection():
    lab = labfile.load("builtin:reference")
    text = scripts.SCRIPT.read_text(encoding="utf-8")
    calls = scripts.recorded_calls(lab, "HV01", text)
    assert len(text.splitlines()) >= 250 and len(calls) >= 10
    structured = [scripts._structured(c) for c in calls]
    kept = [(c, s) for c, s in zip(calls, structured) if s is not None]
    assert all(s is None for c, s in zip(calls, structured) if any(x.name == "Write-Output" for x in c.pipeline))
    assert any(c != s for c, s in kept)  # VM objects became names …
    for call, same in kept:  # … and every call answers as the script's did
        assert powershell.run(lab, same.context, same.pipeline).output == powershell.run(lab, call.context, call.pipeline).output


def test_when_the_served_process_cannot_start_the_request_counts_still_stand(monkeypatch):
    from bench import endpoint

    def cannot(lab, **options):
        raise RuntimeError("nestlab serve did not list its 4 hosts (exit code 2)")

    monkeypatch.setattr(endpoint, "measure_collection", cannot)
    report = endpoint.run(quick=True)
    by_figure = {f["figure"]: f for f in report["ratios"]}
    assert by_figure["HTTP requests per host, builtin:reference"]["met"] is not None
    lagged = by_figure[f"4 hosts vs 1, {endpoint.LATENCY_MS:g} ms per request"]
    assert lagged["ratio"] is None and lagged["goal"] == "not measured: RuntimeError: nestlab serve did not list its 4 hosts (exit code 2)"


def test_sizes_take_turns_so_both_sides_of_a_ratio_share_the_same_minutes():
    """bench.labs.interleaved: one sample of each action per round, while it has samples left; each
    action's figures are the least of its own samples, the first run's CPU kept apart."""
    from bench.labs import Timed, interleaved

    order: list[str] = []
    timings = interleaved([Timed(lambda: order.append("small"), 3), Timed(lambda: order.append("large"), 1)])
    assert order == ["small", "large", "small", "small"]
    assert len(timings) == 2 and all(t.wall >= 0 and t.cpu >= 0 and t.first_cpu >= t.cpu for t in timings)


class _Clock:
    """perf_counter and process_time for bench.labs that advance only when an action says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def process_time(self) -> float:
        return self.now


def test_a_smaller_labs_sample_is_several_runs_timed_as_one_window(monkeypatch):
    """A sample of `repeat` runs back to back is timed as one window and given per run: a side whose
    runs are short is not judged by its luckiest short run (stop 23: that estimator favoured the
    small side of every 10× ratio by about a tenth). The fastest single run is kept beside it."""
    import bench.labs as labs

    clock = _Clock()
    monkeypatch.setattr(labs, "time", clock)
    durations = iter([1.0, 3.0, 2.0,   10.0,   2.0, 2.0, 2.0,   12.0])  # small runs 3 per sample; large 1

    def run() -> None:
        clock.now += next(durations)

    small, large = labs.interleaved([labs.Timed(run, 2, repeat=3), labs.Timed(run, 2)])
    assert (small.cpu, small.wall, small.single_cpu, small.first_cpu, small.repeat) == (2.0, 2.0, 1.0, 1.0, 3)
    assert (large.cpu, large.single_cpu, large.repeat) == (10.0, 10.0, 1)


def test_what_a_sample_made_lives_until_its_clocks_stop():
    """Each run's result is kept until the sample ends, so the small side holds as much memory as
    the large one's single run (whose result lives until its clock stops too), then freed."""
    import weakref

    from bench.labs import Timed, interleaved

    class Made:
        pass

    alive: list[weakref.ref] = []
    seen: list[int] = []

    def run() -> Made:
        seen.append(sum(1 for ref in alive if ref() is not None))
        made = Made()
        alive.append(weakref.ref(made))
        return made

    interleaved([Timed(run, 2, repeat=3)])
    assert seen == [0, 1, 2, 0, 1, 2]
    assert all(ref() is None for ref in alive)


def test_equal_windows_give_every_size_the_largest_labs_vms_per_sample():
    from bench.labs import Size, Timed, equal_windows

    assert equal_windows((Size(100, 1), Size(1_000, 10), Size(10_000, 100))) == [100, 10, 1]
    assert equal_windows((Size(10, 1), Size(100, 1), Size(1_000, 10))) == [100, 10, 1]
    with pytest.raises(ValueError, match="runs and repeat must be at least 1"):
        Timed(lambda: None, 1, repeat=0)
