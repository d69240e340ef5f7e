"""The `nestlab` command: one click group; each subcommand lives in its own module.

The table of what exists is `lab/commands/`: every module there that defines a click command
named `command` is a subcommand (as pytest-testinfra keeps one table of its backends). Adding a
subcommand is adding a module. Errors of input end as one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from nestlab.simulator.errors import BadInput

import nestlab.lab.commands as _commands_pkg

EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2


class NestlabGroup(click.Group):
    """Turns BadInput anywhere below into one stderr line and exit 2 (a traceback only with --debug)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except BadInput as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            for line in exc.lines:
                click.echo(f"nestlab: {line}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


@click.group(cls=NestlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="nestlab")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """nestlab: simulate, break, diagnose and heal Hyper-V nested-virtualization labs.

    \b
    Examples:
      nestlab demo                          every fault: inject, diagnose, heal
      nestlab labs                          the builtin labs
      nestlab validate my-lab.yaml          every error of a lab file
      nestlab diagnose builtin:reference    findings for a lab
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(_commands_pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"nestlab.lab.commands.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command):
            cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    try:
        return cli.main(args=argv, prog_name="nestlab", standalone_mode=True) or 0
    except SystemExit as exc:  # click exits; keep the code
        return int(exc.code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
