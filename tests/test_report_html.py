"""The HTML report and the topology drawing: what they show, read back from the markup.

(tests/test_report_html_chromium.py opens the same page in a real browser.)"""

from __future__ import annotations

from nestlab.simulator.actions import texts

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from nestlab.diagnosis.checklist import run_checklist
from nestlab.lab.cli import cli
from nestlab.lab.diagnose import diagnose_session
from nestlab.lab.draw import layout, svg
from nestlab.lab.draw_formats import dot, mermaid
from nestlab.lab.flows import traces
from nestlab.lab.report_html import HtmlReport, report_page
from nestlab.lab.session import SimSession
from nestlab.simulator import faults, labfile


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)

    def with_attr(self, name: str, value: str | None = None) -> list[dict[str, str]]:
        return [a for _, a in self.tags if name in a and (value is None or a[name] == value)]


def broken(*fault_ids: str):
    lab = labfile.load("builtin:reference")
    for fault_id in fault_ids:
        faults.get(fault_id).inject(lab)
    return diagnose_session(SimSession(lab), target="builtin:reference+" + "+".join(fault_ids))


@pytest.fixture(scope="module")
def diagnosis():
    return broken("nat-prefix-mismatch", "vhd-parent-missing")


@pytest.fixture(scope="module")
def page(diagnosis) -> str:
    return report_page(diagnosis)


def test_the_page_fetches_nothing_and_forbids_fetching(page):
    parsed = Elements(page)
    assert parsed.with_attr("http-equiv", "Content-Security-Policy")[0]["content"].startswith("default-src 'none'")
    fetched = [a for tag, a in parsed.tags for key in ("src", "href") if key in a and tag in ("script", "img", "link", "iframe")]
    assert fetched == [] and "@import" not in page and "url(http" not in page
    assert not any(tag == "script" for tag, _ in parsed.tags)


def test_the_drawing_has_every_host_vm_switch_nat_disk_and_network(diagnosis, page):
    lab = diagnosis.evidence.lab
    drawn = {a["data-id"]: a.get("data-kind") for a in Elements(page).with_attr("data-id")}
    expected = [n for n in lab.nodes() if lab.kind(n) in ("host", "vm", "switch", "nat", "vhd", "network")]
    assert expected and all(drawn.get(n) == lab.kind(n) for n in expected), [n for n in expected if n not in drawn]
    levels = {a["data-id"]: a["data-level"] for a in Elements(page).with_attr("data-level")}
    assert levels == {n: str(lab.depth(n) if lab.kind(n) == "vm" else 0) for n in lab.hosts() + lab.all_vms()}


def test_the_subject_of_every_finding_is_marked_on_the_drawing(diagnosis, page):
    marked = {a["data-finding"] for a in Elements(page).with_attr("data-finding")}
    subjects = {f.subject for f in diagnosis.report.findings}
    assert {"HV01/L1:nat:NestedNAT", "HV01:vhd:D:\\VMs\\L1\\L1_8F2A.avhdx"} <= subjects
    assert subjects == marked
    assert len(re.findall(r'class="pill finding sev-error"', page)) == 2


def test_each_finding_carries_its_evidence_and_resolution(diagnosis, page):
    parsed = Elements(page)
    cards = parsed.with_attr("data-root-cause")
    assert [(c["data-root-cause"], c["data-subject"]) for c in cards] == [(f.root_cause, f.subject) for f in diagnosis.report.findings]
    text = "".join(parsed.text)
    for f in diagnosis.report.findings:
        assert all(e.command in text for e in f.evidence)
        assert all(line in text for line in texts(f.resolution))


def test_the_checklist_is_there_item_by_item(diagnosis, page):
    results = run_checklist(diagnosis.evidence, diagnosis.report).results
    rows = Elements(page).with_attr("data-item")
    assert [r["data-item"] for r in rows] == [r.item.id for r in results]
    statuses = re.findall(r'<td class="status ([a-z-]+)">', page)
    assert statuses == [r.status for r in results] and "fail" in statuses


def test_a_trace_that_stops_marks_the_hop_where_it_stops(diagnosis, page):
    stopped = [(flow, t) for flow, t in traces(diagnosis.evidence.lab) if not t.delivered]
    assert [(flow.source, t.disposition.value, t.hops[-1].node) for flow, t in stopped] == [
        ("HV01/L1/L2-web", "nat-prefix-mismatch", "HV01/L1")]
    marked = re.findall(r'<li class="stop" data-node="([^"]+)"><span class="node">[^<]*</span><span class="stopmark">STOPS HERE: ([a-z-]+)', page)
    assert marked == [("HV01/L1", "nat-prefix-mismatch")]
    assert page.count('data-disposition="delivered"') == len(traces(diagnosis.evidence.lab)) - 1


def test_a_healthy_lab_report_says_no_findings_and_all_flows_arrive():
    report = HtmlReport.of(broken())
    assert report.diagnosis.report.findings == ()
    assert report.traces and all(t.delivered for _, t in report.traces)
    assert "no findings" in report.page() and 'class="stop"' not in report.page()


def test_diagnose_html_writes_the_page_beside_the_usual_output(tmp_path):
    lab = labfile.load("builtin:reference")
    faults.get("mac-spoofing-disabled").inject(lab)
    labfile.save(lab, tmp_path / "broken.yaml")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["diagnose", str(tmp_path / "broken.yaml"), "--html", str(out)])
    assert result.exit_code == 1, result.output
    assert "mac-spoofing-disabled" in result.output and out.is_file()
    assert 'data-root-cause="mac-spoofing-disabled"' in out.read_text(encoding="utf-8")


def test_diagnose_html_into_a_missing_folder_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["diagnose", "builtin:reference", "--html", str(tmp_path / "nope" / "r.html")])
    assert result.exit_code == 2 and "no such folder" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("suffix, marker", [(".svg", "<svg "), (".dot", "digraph "), (".mmd", "flowchart TB")])
def test_draw_writes_the_format_its_suffix_names(tmp_path, suffix, marker):
    out = tmp_path / f"lab{suffix}"
    result = CliRunner().invoke(cli, ["draw", "builtin:deep", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith(marker)


def test_draw_refuses_an_unknown_suffix(tmp_path):
    result = CliRunner().invoke(cli, ["draw", "builtin:deep", "-o", str(tmp_path / "lab.png")])
    assert result.exit_code == 2 and "unknown drawing format .png" in result.output
    assert not (tmp_path / "lab.png").exists()


def test_dot_and_mermaid_name_every_node_and_mark_the_highlighted(lab):
    ids = [n for n in lab.nodes() if lab.kind(n) not in ("adapter", "nic")]
    text = dot(lab, highlight=["HV01/L1"])
    declared = set(re.findall(r"^\s*(n\d+) \[label=", text, re.M))
    used = set(re.findall(r"(n\d+) -> (n\d+)", text)[0]) | {b for _, b in re.findall(r"(n\d+) -> (n\d+)", text)}
    assert len(declared) == len(ids) and used <= declared
    assert text.count("{") == text.count("}") and text.count('color="#c62828"') == 2  # the VM's cluster and node
    flow = mermaid(lab, highlight=["HV01/L1"])
    lines = [line.strip() for line in flow.splitlines()]
    assert sum(line.startswith("subgraph ") for line in lines) == lines.count("end") == len(lab.hosts() + lab.all_vms())
    assert re.search(r"class (n\d+) finding", flow)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed: the dot text is checked structurally only")
def test_graphviz_accepts_the_dot_text(lab, tmp_path):
    (tmp_path / "lab.dot").write_text(dot(lab, highlight=["HV01/L1"]), encoding="utf-8")
    done = subprocess.run(["dot", "-Tsvg", str(tmp_path / "lab.dot")], capture_output=True, text=True)
    assert done.returncode == 0 and "<svg" in done.stdout, done.stderr


def test_nested_boxes_sit_inside_their_parents_by_level():
    lab = labfile.load("builtin:deep")
    scene = layout(lab)
    for vm in lab.all_vms():
        child, parent = scene.shapes[vm], scene.shapes[lab.parent(vm)]
        assert parent.x < child.x and child.x + child.w < parent.x + parent.w
        assert parent.y < child.y and child.y + child.h < parent.y + parent.h
        assert child.level == parent.level + 1
    assert {s.kind for s in scene.shapes.values()} == {"host", "vm", "switch", "vhd", "network"}


def test_notebooks_show_a_lab_as_its_drawing_and_a_report_as_its_findings(lab):
    assert "<svg" in lab._repr_html_() and svg(lab) in lab._repr_html_()
    faults.get("extensions-not-exposed").inject(lab)
    report = diagnose_session(SimSession(lab)).report
    html = report._repr_html_()
    assert 'data-root-cause="extensions-not-exposed"' in html and "body{" not in html
    assert 'data-disposition' in HtmlReport.of(diagnose_session(SimSession(lab)))._repr_html_()


def test_a_big_lab_wraps_into_rows_and_keeps_every_box_inside_its_parent():
    from nestlab.lab.draw import ROW_WIDTH
    from nestlab.simulator.generate import generate

    lab = generate(seed=3, hosts=3, depth=2, vms_per_host=60)
    scene = layout(lab)
    assert len(lab.all_vms()) == 180
    assert scene.width <= 2 * ROW_WIDTH + 200
    for vm in lab.all_vms():
        child, parent = scene.shapes[vm], scene.shapes[lab.parent(vm)]
        assert parent.x < child.x and child.x + child.w < parent.x + parent.w, vm
        assert parent.y < child.y and child.y + child.h < parent.y + parent.h, vm
    boxes = [scene.shapes[n] for n in lab.hosts() + lab.all_vms()]
    chain = {vm: set(lab.ancestors(vm)) for vm in lab.all_vms()}
    overlapping = [(a.id, b.id) for a in boxes for b in boxes if a.id < b.id
                   and a.id not in chain.get(b.id, ()) and b.id not in chain.get(a.id, ())  # neither inside the other
                   and a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h]
    assert overlapping == []
