"""`nestlab import DIR|ZIP -o LAB`: a data-collection bundle → a lab file (lab/importer/).

With `--case`, the lab goes to fixtures/cases/<name>/lab.yaml and the case's `expected` list is
written next to it from the current diagnosis, for review: a customer ticket becomes a
regression test in one command.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from nestlab.simulator.errors import BadInput


@click.command("import")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path), help="The lab file to write.")
@click.option("--name", help="The lab's name (default: the bundle's).")
@click.option("--case", is_flag=True, help="Also write the case's `expected` findings next to the lab file.")
@click.option("--json", "as_json", is_flag=True, help="Print the lab path and the assumptions as JSON.")
@click.option("--strict", is_flag=True, help="Stop (exit 2) on any line that is not command output, as before.")
def command(bundle: Path, output: Path, name: str | None, case: bool, as_json: bool, strict: bool = False) -> None:
    """Import a data-collection bundle (folder or zip, ours or a customer's) as a lab file.

    Every file is read: command output as the lab's state, free text line by line — a known
    error message becomes a symptom on the host or VM it was seen on (pass it to `nestlab
    diagnose --symptom`); any other line is listed and skipped (with --strict it stops the import).

    \b
    Examples:
      nestlab import ticket-4711.zip -o contoso-4711.yaml
      nestlab import ticket-4711/ -o contoso-4711.yaml --strict
      nestlab import bundle.zip -o fixtures/cases/contoso-4711/lab.yaml --case
    """
    from nestlab.lab.importer import import_bundle
    from nestlab.simulator.labfile import write_atomic

    imported = import_bundle(bundle, name=name, strict=strict)
    if not output.parent.is_dir():
        if case:
            output.parent.mkdir(parents=True)
        else:
            raise BadInput(f"{output}: folder {output.parent} does not exist")
    write_atomic(output, imported.text())
    expected = write_expected(imported, output) if case else None
    if as_json:
        click.echo(json.dumps({"lab": str(output), "assumptions": list(imported.assumptions),
                               "files": list(imported.files), **({"expected": str(expected)} if expected else {}),
                               "symptoms": [o.to_dict() for o in imported.symptoms],
                               "skipped": list(imported.skipped)}, indent=2))
    else:
        click.echo(f"{output}: lab {imported.lab.name!r} from {len(imported.files)} files, "
                   f"{len(imported.assumptions)} assumptions (listed at the top of the file)")
        for observed in imported.symptoms:
            click.echo(f"symptom {observed.source} on {observed.node or '?'}: {observed.text}")
        for line in imported.skipped:
            click.echo(f"skipped {line}")
        if imported.symptoms:
            flags = " ".join(f"--symptom {_quoted(o.text)}" for o in imported.symptoms)
            click.echo(f"diagnose with: nestlab diagnose {output} {flags}")


def write_expected(imported: Imported, lab_path: Path) -> Path:
    """The case's `expected`: one 'ROOT_CAUSE SUBJECT' line per error or warning the diagnosis finds today.

    Consequences the diagnosis explains by another finding (demoted to info) are left out: a case
    lists root causes. The file is for review, as steps/cases.py reads it.
    """
    from nestlab.simulator.labfile import write_atomic

    diagnose_session = _diagnosis()
    from nestlab.lab.session import SimSession

    from nestlab.diagnosis.evidence import Statements

    report = diagnose_session(SimSession(imported.lab.copy()), target=str(lab_path),
                              stated=Statements(symptoms=imported.symptoms)).report
    lines = sorted({f"{f.root_cause} {f.subject}" for f in report.findings if f.severity in ("error", "warning")})
    target = lab_path.parent / "expected"
    header = "# from the diagnosis of the imported lab; review before committing\n"
    if not lines:
        header += "# the diagnosis found nothing: list the root causes this case must report\n"
    write_atomic(target, header + "".join(f"{line}\n" for line in lines))
    if imported.symptoms:
        write_atomic(lab_path.parent / "symptoms",
                     "# the errors the customer saw (NODE | TEXT), from the bundle's free text\n"
                     + "".join(f"{o.node} | {o.text}\n" if o.node else f"{o.text}\n" for o in imported.symptoms))
    unexpected = lab_path.parent / "unexpected"
    if not unexpected.exists():
        write_atomic(unexpected, "# root causes the diagnosis must not report (the plausible wrong answers), one per line\n")
    return target


def _quoted(text: str) -> str:
    """A shell double-quoted argument."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`") + '"'


def _diagnosis():
    """The end-to-end diagnosis (lab.diagnose), if this build has one."""
    try:
        from nestlab.lab.diagnose import diagnose_session
    except ImportError:
        raise BadInput("--case needs the diagnosis (lab.diagnose.diagnose_session), which this build does not have") from None
    return diagnose_session
