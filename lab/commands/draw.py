"""`nestlab draw LAB -o lab.svg|.dot|.mmd`: the topology alone, as a picture or as text."""

from __future__ import annotations

from pathlib import Path

import click

from nestlab.simulator.errors import BadInput

CHOICES = ("svg", "dot", "mermaid")


@click.command("draw")
@click.argument("lab")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here (.svg, .dot/.gv or .mmd); without it, SVG on stdout.")
@click.option("--format", "fmt", type=click.Choice(CHOICES), help="Override the format the suffix says.")
def command(lab: str, output: Path | None, fmt: str | None) -> None:
    """Draw LAB (a lab file or builtin:NAME): hosts and VMs as nested boxes by level, switches,
    NATs, disks and the physical networks.

    \b
    Examples:
      nestlab draw builtin:reference -o reference.svg
      nestlab draw my-lab.yaml -o my-lab.dot       # Graphviz: dot -Tpng my-lab.dot
      nestlab draw my-lab.yaml -o my-lab.mmd       # Mermaid, for a README or a wiki
    """
    from nestlab.lab import draw, draw_formats
    from nestlab.simulator import labfile

    chosen = fmt or _format_of(output)
    loaded = labfile.load(labfile.resolve(lab))
    text = {"svg": lambda: draw.svg(loaded) + "\n", "dot": lambda: draw_formats.dot(loaded),
            "mermaid": lambda: draw_formats.mermaid(loaded)}[chosen]()
    if output is None:
        click.echo(text, nl=False)
        return
    if not output.parent.is_dir():
        raise BadInput(f"{output}: no such folder {output.parent}")
    labfile.write_atomic(output, text)
    click.echo(f"{output}: {chosen}, {len(loaded.hosts())} host(s), {len(loaded.all_vms())} VM(s)", err=True)


def _format_of(output: Path | None) -> str:
    if output is None:
        return "svg"
    from nestlab.lab.draw_formats import FORMATS

    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise BadInput(f"{output}: unknown drawing format {suffix or '(no suffix)'}; use .svg, .dot, .gv or .mmd (or --format)")
    return FORMATS[suffix]
