"""The BDD suite covers the contract: every root cause has a scenario, every tag is a marker.

These tests read the feature files (with pytest-bdd's own Gherkin parser), the root-cause catalog
of ../shared/spec/root-causes.md, the fault catalog and the case folders; they never run a
scenario (the scenarios themselves do that).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser

from nestlab.simulator import labfile
from nestlab.steps import vocabulary
from nestlab.steps.cases import case_dirs, load_case
from nestlab.steps.markers import MARKERS, SECTIONS
from nestlab.steps.target import PHYSICAL_SKIP_REASON, TARGETS, SimTarget, cannot_run, parse_lab_option

REPO = Path(__file__).resolve().parent.parent
FEATURES = REPO / "features"
SPEC = REPO.parent / "shared" / "spec" / "root-causes.md"

# A step that asserts the diagnosis names a root cause (not merely one that injects it).
DIAGNOSED = re.compile(r'^(?:the finding "([a-z0-9-]+)" names|the diagnosis finds "([a-z0-9-]+)")')
INJECTED = re.compile(r'^the fault "([a-z0-9-]+)"')


@dataclass(frozen=True)
class Run:
    """One scenario as it runs: one row of an outline's Examples, rendered."""

    feature: str
    scenario: str
    tags: frozenset[str]
    steps: tuple[str, ...]


def feature_files() -> list[Path]:
    return sorted(FEATURES.rglob("*.feature"))


def runs() -> list[Run]:
    found = []
    for path in feature_files():
        feature = FeatureParser(str(FEATURES), str(path.relative_to(FEATURES))).parse()
        for template in feature.scenarios.values():
            base = feature.tags | template.tags
            examples = [(e.tags, ctx) for e in template.examples for ctx in e.as_contexts()] or [(set(), {})]
            for example_tags, context in examples:
                scenario = template.render(context)
                found.append(Run(path.name, scenario.name, frozenset(base | example_tags), tuple(s.name for s in scenario.steps)))
    return found


def spec_ids() -> set[str]:
    if not SPEC.is_file():
        pytest.skip(f"{SPEC} is absent (the shared spec is not checked out next to the repository)")
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", SPEC.read_text(encoding="utf-8"), re.MULTILINE))


def ids_in(run: Run, pattern: re.Pattern[str]) -> set[str]:
    return {next(g for g in m.groups() if g) for s in run.steps if (m := pattern.match(s))}


def test_the_spec_lists_the_39_root_causes() -> None:
    assert len(spec_ids()) == 39


def test_every_root_cause_is_diagnosed_in_at_least_one_scenario() -> None:
    diagnosed = set().union(*(ids_in(r, DIAGNOSED) for r in runs()))
    missing = sorted(spec_ids() - diagnosed)
    assert not missing, f"root causes without a scenario that asserts their finding: {missing}"


def test_scenarios_name_only_root_causes_of_the_spec() -> None:
    known = spec_ids()
    named = {(r.feature, i) for r in runs() for i in ids_in(r, DIAGNOSED) | ids_in(r, INJECTED)}
    unknown = sorted((f, i) for f, i in named if i not in known)
    assert not unknown, f"ids not in root-causes.md: {unknown}"


def test_every_tag_is_a_registered_marker(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    tags = {t for r in runs() for t in r.tags}
    assert tags <= set(MARKERS), f"tags without a marker in steps/markers.py: {sorted(tags - set(MARKERS))}"
    assert tags <= registered, f"tags not registered with pytest: {sorted(tags - registered)}"


def test_each_guide_section_has_its_feature_file_with_its_tag() -> None:
    for section in SECTIONS:
        path = FEATURES / f"{section}.feature"
        assert path.is_file(), f"no {path.relative_to(REPO)} for the guide section @{section}"
        assert all(section in r.tags for r in runs() if r.feature == path.name), f"{path.name}: a scenario lacks @{section}"


def test_scenarios_that_inject_are_destructive_and_tagged_with_the_inject_kind() -> None:
    from nestlab.simulator import faults

    for run in runs():
        for fault_id in ids_in(run, INJECTED):
            kind = faults.get(fault_id).kind
            where = f"{run.feature}: {run.scenario}"
            assert "destructive" in run.tags, f"{where}: injects {fault_id} but is not @destructive"
            assert kind in run.tags, f"{where}: injects {fault_id} (inject: {kind}) but is not @{kind}"
        if ids_in(run, INJECTED) and "state" not in run.tags:
            assert "cmd" in run.tags, f"{run.feature}: {run.scenario}: injects but is neither @cmd nor @state"


def test_every_builtin_lab_has_a_healthy_scenario() -> None:
    healthy = {s for r in runs() if "healthy" in r.tags for s in r.steps}
    for name in labfile.builtin_names():
        assert f'the lab "builtin:{name}"' in healthy, f"builtin:{name} has no @healthy scenario"


def test_at_least_ten_customer_cases_each_with_a_story_and_known_root_causes() -> None:
    known = spec_ids()
    cases = [load_case(d) for d in case_dirs()]
    assert len(cases) >= 10
    for case in cases:
        assert case.story, case.name
        ids = {e.root_cause for e in case.expected} | set(case.unexpected)
        assert ids <= known, f"{case.name}: unknown ids {sorted(ids - known)}"
        assert not {e.root_cause for e in case.expected} & set(case.unexpected), f"{case.name}: expected and unexpected overlap"


def test_the_readme_step_vocabulary_is_current() -> None:
    text = vocabulary.README.read_text(encoding="utf-8")
    assert vocabulary.current_section(text) == vocabulary.render(), "run `python -m nestlab.steps.vocabulary`"


def test_an_unknown_lab_target_is_a_usage_error_naming_the_known_ones() -> None:
    with pytest.raises(pytest.UsageError, match=r"--lab=nowhere: unknown target 'nowhere'; known targets: .*sim"):
        parse_lab_option("nowhere")
    assert parse_lab_option("sim")[0] is TARGETS["sim"]


def test_a_target_that_cannot_make_physical_changes_skips_state_scenarios_with_the_reason() -> None:
    read_only = SimTarget(name="inventory", can_make_physical_changes=False, can_change_state=False)
    assert cannot_run(read_only, {"security", "state", "destructive"}) == PHYSICAL_SKIP_REASON
    assert cannot_run(read_only, {"network", "cmd", "destructive"}) is not None
    assert cannot_run(read_only, {"healthy"}) is None
    assert cannot_run(SimTarget(), {"state", "destructive"}) is None
