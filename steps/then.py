"""Then steps: what a command, the diagnosis, or a reachability trace must show."""

from __future__ import annotations

from typing import Any

from pytest_bdd import then

from nestlab.simulator.psparse import NATIVE, parse as pipeline_of
from nestlab.steps import remedy
from nestlab.steps.cases import Case
from nestlab.steps.phrases import phrase
from nestlab.steps.target import Testbed
from nestlab.steps.when import Outcome, run_text
from nestlab.steps.where import Where

# -- commands ------------------------------------------------------------------------------------


def _errors(outcome: Outcome) -> list[str]:
    """Error records; and for a native command (net, netsh, bcdedit) the text it printed, since
    native commands report their errors as text lines, not as records."""
    errors = [f"{e.message} [{e.fully_qualified_error_id}]" for e in outcome.result.errors]
    if pipeline_of(outcome.command)[0].name.lower() in NATIVE:
        errors.append("\n".join(o for o in outcome.result.output if isinstance(o, str)))
    return errors


def _assert_fails_with(outcome: Outcome, text: str) -> None:
    errors = _errors(outcome)
    assert any(text.lower() in e.lower() for e in errors), (
        f"`{outcome.command}` in {outcome.where} should fail with {text!r}; errors: {errors or 'none'}"
    )


def _assert_succeeds(outcome: Outcome) -> None:
    assert outcome.result.ok, f"`{outcome.command}` in {outcome.where} should succeed; errors: {_errors(outcome)}"


@then(phrase('it fails with "{text}"'))
def it_fails_with(outcome: Outcome, text: str) -> None:
    """The last command wrote an error record (a native command: printed a line) containing the
    text, ignoring case (the guide writes "Process cannot access…", Windows "The process cannot…")."""
    _assert_fails_with(outcome, text)


@then("it succeeds")
def it_succeeds(outcome: Outcome) -> None:
    """The last command wrote no error record."""
    _assert_succeeds(outcome)


@then(phrase('"{command}" on "{node}" succeeds'))
@then(phrase('"{command}" in the guest of "{node}" succeeds'))
def command_succeeds(command: str, node: str, testbed: Testbed) -> None:
    """Run a command now (on a host, or inside a VM's guest): it writes no error record."""
    _assert_succeeds(run_text(testbed.session, Where.of(node), command))


@then(phrase('"{command}" on "{node}" fails with "{text}"'))
@then(phrase('"{command}" in the guest of "{node}" fails with "{text}"'))
def command_fails_with(command: str, node: str, text: str, testbed: Testbed) -> None:
    """Run a command now: it writes an error record containing the text (ignoring case)."""
    _assert_fails_with(run_text(testbed.session, Where.of(node), command), text)


@then(phrase('its output shows the properties "{names}"'))
def output_shows_properties(names: str, outcome: Outcome) -> None:
    """Every output object carries each named property (comma-separated, Hyper-V's real names)."""
    _assert_succeeds(outcome)
    assert outcome.result.output, f"`{outcome.command}` returned no object"
    for obj in outcome.result.output:
        missing = [n.strip() for n in names.split(",") if n.strip().lower() not in {k.lower() for k in obj}]
        assert not missing, f"`{outcome.command}`: {type(obj).__name__} lacks {missing}; has {list(obj)}"


@then(phrase('its output shows "{name}" as "{value}"'))
def output_shows_value(name: str, value: str, outcome: Outcome) -> None:
    """The first output object's property, as PowerShell prints it, equals the value."""
    _assert_shows(outcome, name, value)


@then(phrase('"{command}" on "{node}" shows "{name}" as "{value}"'))
def command_shows_value(command: str, node: str, name: str, value: str, testbed: Testbed) -> None:
    """Run a command now and read one property of its first output object."""
    _assert_shows(run_text(testbed.session, Where.of(node), command), name, value)


@then(phrase('its output shows "{name}" including "{value}"'))
def output_shows_including(name: str, value: str, outcome: Outcome) -> None:
    """A list property of the first output object has an item that contains the value
    (e.g. Measure-NestedPerformance's Factors naming `vhd-type`)."""
    items = _items(outcome, name)
    assert any(value in item for item in items), f"`{outcome.command}`: {name} {items} does not name {value!r}"


@then(phrase('"{command}" on "{node}" shows "{name}" without "{value}"'))
def command_shows_without(command: str, node: str, name: str, value: str, testbed: Testbed) -> None:
    """Run a command now: no item of the list property contains the value any more."""
    outcome = run_text(testbed.session, Where.of(node), command)
    items = _items(outcome, name)
    assert not any(value in item for item in items), f"`{command}` on {node}: {name} still names {value!r}: {items}"


def _items(outcome: Outcome, name: str) -> list[str]:
    _assert_succeeds(outcome)
    assert outcome.result.output, f"`{outcome.command}` in {outcome.where} returned no object"
    value = outcome.result.output[0][name]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _assert_shows(outcome: Outcome, name: str, value: str) -> None:
    _assert_succeeds(outcome)
    assert outcome.result.output, f"`{outcome.command}` in {outcome.where} returned no object"
    shown = _shown(outcome.result.output[0][name])
    assert shown == value, f"`{outcome.command}` in {outcome.where}: {name} is {shown!r}, expected {value!r}"


def _shown(value: Any) -> str:
    """A value the way PowerShell's default formatting shows it (True, not true)."""
    return str(value)


# -- the diagnosis -------------------------------------------------------------------------------


@then(phrase('the finding "{root_cause}" names "{subject}"'), target_fixture="finding")
def the_finding_names(root_cause: str, subject: str, report: remedy.Report) -> Any:
    """The diagnosis reports this root cause about exactly this node (lab-format node id)."""
    return remedy.the_finding(report, root_cause, subject)


@then(phrase('the diagnosis finds "{root_cause}"'), target_fixture="finding")
def the_diagnosis_finds(root_cause: str, report: remedy.Report) -> Any:
    """The diagnosis reports this root cause, whatever node it is about."""
    return remedy.the_finding(report, root_cause)


@then(phrase('the diagnosis does not find "{root_cause}"'))
def the_diagnosis_does_not_find(root_cause: str, report: remedy.Report) -> None:
    """No finding of this root cause, on any node (a plausible wrong answer is not given)."""
    found = [f for f in report.findings if f.root_cause == root_cause]
    assert not found, f"unexpected {root_cause}: {remedy.describe(found)}"


@then(phrase('its resolution includes "{text}"'))
def its_resolution_includes(text: str, finding: Any) -> None:
    """One of the finding's resolution steps contains the text (a command with real names)."""
    lines = [str(line) for line in finding.resolution]
    assert any(text in line for line in lines), f"{finding.root_cause}: resolution {lines} lacks {text!r}"


@then(phrase('its evidence shows "{prop}"'))
def its_evidence_shows(prop: str, finding: Any) -> None:
    """The finding cites the command output property it concluded from."""
    cited = [str(getattr(e, "property", e)) for e in finding.evidence]
    assert any(prop.lower() == c.lower() for c in cited), f"{finding.root_cause}: evidence cites {cited}, not {prop!r}"


@then(phrase('its severity is "{severity}"'))
def its_severity_is(severity: str, finding: Any) -> None:
    """error (blocks nested virtualization or loses data), warning (degrades) or info (cli.md)."""
    assert str(finding.severity) == severity, f"{finding.root_cause}: severity {finding.severity}, expected {severity}"


@then("the diagnosis finds nothing")
def the_diagnosis_finds_nothing(testbed: Testbed, stated: Any) -> None:
    """A fresh diagnosis of the lab as it is now finds no error or warning (info notes may remain)."""
    problems = remedy.problems(remedy.diagnose(testbed.session, stated).findings)
    assert not problems, f"the diagnosis still finds: {remedy.describe(problems)}"


@then(phrase('the finding "{consequence}" is explained by "{cause}"'))
def is_explained_by(consequence: str, cause: str, report: remedy.Report) -> None:
    """The cause's finding says it explains the consequence: one root problem, not a pile."""
    causes = [f for f in report.findings if f.root_cause == cause]
    assert causes, f"no {cause} finding; found {remedy.describe(report.findings)}"
    consequences = [f for f in report.findings if f.root_cause == consequence]
    assert consequences, f"no {consequence} finding; found {remedy.describe(report.findings)}"
    assert any(remedy.explains(c, f) for c in causes for f in consequences), (
        f"{cause} does not explain {consequence}: {remedy.describe(causes + consequences)}"
    )


@then(phrase('the finding "{first}" comes before "{second}"'))
def comes_before(first: str, second: str, report: remedy.Report) -> None:
    """Findings are ordered by severity, then from the top of the chain down (cli.md)."""
    order = [f.root_cause for f in report.findings]
    assert first in order and second in order, f"need both {first} and {second}; found {order}"
    assert order.index(first) < order.index(second), f"{first} should come before {second}: {order}"


@then("the diagnosis finds every injected fault")
def finds_every_injected_fault(report: remedy.Report, injected: list[tuple[str, str]]) -> None:
    """Recall on the scenario's ground truth: each injected (root cause, subject) is reported."""
    missing = [(rc, s) for rc, s in injected if not any(f.root_cause == rc and f.subject == s for f in report.findings)]
    assert not missing, f"not found: {missing}; found {remedy.describe(report.findings)}"


@then("the diagnosis finds every expected root cause of the case")
def finds_every_expected(report: remedy.Report, customer_case: Case) -> None:
    """Each line of the case's `expected` file is reported (on its subject, when the line names one)."""
    missing = [
        str(e) for e in customer_case.expected
        if not any(f.root_cause == e.root_cause and (e.subject is None or f.subject == e.subject) for f in report.findings)
    ]
    assert not missing, f"{customer_case.name}: not found {missing}; found {remedy.describe(report.findings)}"


@then("the diagnosis finds none of the unexpected root causes of the case")
def finds_no_unexpected(report: remedy.Report, customer_case: Case) -> None:
    """No root cause of the case's `unexpected` file is reported as an error or warning, on any
    node (a consequence demoted to info because an expected cause explains it is not a wrong answer)."""
    wrong = [f for f in remedy.problems(report.findings) if f.root_cause in customer_case.unexpected]
    assert not wrong, f"{customer_case.name}: unexpected {remedy.describe(wrong)}"


# -- reachability ----------------------------------------------------------------------------------


@then(phrase('the trace from "{source}" to "{destination}" on {protocol:w} port {port:d} is delivered'))
def trace_is_delivered(source: str, destination: str, protocol: str, port: int, testbed: Testbed) -> None:
    """The flow arrives. Endpoints: a node id, an IPv4 address, or a physical network's name."""
    trace = testbed.trace(source, destination, port, protocol)
    assert trace.disposition == "delivered", f"{source} → {destination}:{port}: {trace}"


@then(phrase('the trace from "{source}" to "{destination}" on {protocol:w} port {port:d} stops at "{hop}" because "{disposition}"'))
def trace_stops_at(source: str, destination: str, protocol: str, port: int, hop: str, disposition: str, testbed: Testbed) -> None:
    """The host or VM where the flow stops, and why: private-switch, internal-no-nat,
    nat-prefix-mismatch, mac-spoofing-dropped, firewall-blocked, no-forward,
    wrong-forward-target, winnat-down or no-listener."""
    trace = testbed.trace(source, destination, port, protocol)
    assert (_last_hop(trace), trace.disposition) == (hop, disposition), f"{source} → {destination}:{port}: {trace}"


def _last_hop(trace: Any) -> str:
    return trace.hops[-1].node if trace.hops else ""


# -- the checklist and triage ----------------------------------------------------------------------


@then(phrase('the checklist item "{item}" is "{status}"'))
def checklist_item_is(item: str, status: str, checklist: Any) -> None:
    """One item of the guide's checklist (by id, e.g. `host-cpu`) is pass, fail or not-applicable."""
    results = {r.item.id: r for r in checklist.results}
    assert item in results, f"no checklist item {item!r}; items: {sorted(results)}"
    assert results[item].status == status, f"checklist item {item}: {results[item].status}, expected {status}"


@then("every checklist item passes or does not apply")
def every_checklist_item_passes(checklist: Any) -> None:
    """No item of the guide's checklist fails."""
    failed = [(r.item.id, [f.root_cause for f in r.findings]) for r in checklist.results if r.status == "fail"]
    assert not failed, f"failed checklist items: {failed}"


@then(phrase('the root cause named first is "{root_cause}"'))
def named_first(root_cause: str, triaged: Any) -> None:
    """The most likely root cause for the text."""
    ranked = [m.root_cause for m in triaged.matches]
    assert ranked[:1] == [root_cause], f"{triaged.query!r}: ranked {ranked}"


@then(phrase('the root causes named include "{root_cause}"'))
def named_include(root_cause: str, triaged: Any) -> None:
    """The root cause is among the ones the text points to."""
    ranked = [m.root_cause for m in triaged.matches]
    assert root_cause in ranked, f"{triaged.query!r}: ranked {ranked}"


@then(phrase('the section named first is "{category}"'))
def section_first(category: str, triaged: Any) -> None:
    """The guide section (finding category) the text most likely belongs to."""
    categories = [c for c, _ in triaged.categories]
    assert categories[:1] == [category], f"{triaged.query!r}: sections {categories}"


# -- the data-collection bundle --------------------------------------------------------------------


@then(phrase('the bundle holds "{command}" from "{node}" showing "{text}"'))
def bundle_holds(command: str, node: str, text: str, bundle: Any) -> None:
    """The command ran on that host or guest, and its file (as PowerShell prints it, spaces
    collapsed) contains the text."""
    entry = _bundle_entry(bundle, command, node)
    assert entry.status == "ok", f"`{command}` on {node}: {entry.status} {entry.errors}"
    shown = " ".join((bundle.path / entry.file).read_text(encoding="utf-8").split())
    assert text in shown, f"`{command}` on {node}: {entry.file} does not show {text!r}"


@then(phrase('the bundle lists "{command}" from "{node}" without running it'))
def bundle_lists_not_run(command: str, node: str, bundle: Any) -> None:
    """The command is named in the manifest (the guide's network traces) but was not run."""
    assert _bundle_entry(bundle, command, node).status == "not-run"


def _bundle_entry(bundle: Any, command: str, node: str) -> Any:
    where = Where.of(node)
    entries = [e for e in bundle.entries if e.host == where.host and tuple(e.vm) == where.vm]
    found = [e for e in entries if e.command.startswith(command)]
    assert found, f"the bundle has no `{command}` from {node}; it has {[e.command for e in entries][:40]}"
    return found[0]
