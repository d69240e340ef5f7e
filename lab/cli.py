"""The `nestlab` command: one click group; each subcommand lives in its own module.

The table of what exists is `lab/commands/__init__.py` (`COMMANDS`: name → module, short help), so
the group lists, describes and completes its subcommands without importing any of them, and a
run imports only the module of the subcommand it runs (click's lazy group pattern). Adding a
subcommand is adding a module (and its row; a module without one is still found, the slow way).
Errors of input end as one line on stderr and exit code 2.

Start-up is part of the interface: this module imports click and nothing heavy, so `--help`,
`--version` and any subcommand's `--help` answer at once (`make bench`, bench/startup.py).
"""

from __future__ import annotations

import importlib
import sys

import click

from nestlab.lab.commands import COMMANDS

EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
PACKAGE = "nestlab.lab.commands"


class NestlabGroup(click.Group):
    """Subcommands loaded on demand from the table; BadInput anywhere below becomes one stderr
    line and exit 2 (a traceback only with --debug)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        from nestlab.simulator.errors import BadInput

        try:
            return super().invoke(ctx)
        except BadInput as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            for line in exc.lines:
                click.echo(f"nestlab: {line}", err=True)
            ctx.exit(EXIT_BAD_INPUT)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands, *_unlisted()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.commands:
            return self.commands[name]
        if name in COMMANDS:
            command = _load(COMMANDS[name][0])
            if command is not None:
                self.commands[name] = command
            return command
        return _unlisted().get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The Commands section, as click writes it, from the table's help (nothing imported)."""
        rows = self._short_helps()
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, click.Command(name, help=text).get_short_help_str(limit)) for name, text in rows.items()])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        from click.shell_completion import CompletionItem

        items = [CompletionItem(name, help=text) for name, text in self._short_helps().items() if name.startswith(incomplete)]
        return items + click.Command.shell_complete(self, ctx, incomplete)  # the group's own options

    def _short_helps(self) -> dict[str, str]:
        listed = {name: text for name, (_, text) in COMMANDS.items()}
        others = {**_unlisted(), **{n: c for n, c in self.commands.items() if n not in COMMANDS}}
        listed.update({n: c.get_short_help_str(limit=10**6) for n, c in others.items() if not c.hidden})
        return dict(sorted(listed.items()))


def _load(module: str) -> click.Command | None:
    command = getattr(importlib.import_module(f"{PACKAGE}.{module}"), "command", None)
    return command if isinstance(command, click.Command) else None


_UNLISTED: dict[str, click.Command] | None = None


def _unlisted() -> dict[str, click.Command]:
    """Modules of lab/commands/ that the table misses: imported to learn their command's name."""
    global _UNLISTED
    if _UNLISTED is None:
        import pkgutil

        import nestlab.lab.commands as package

        listed = {module for module, _ in COMMANDS.values()}
        found = (_load(info.name) for info in pkgutil.iter_modules(package.__path__) if info.name not in listed)
        _UNLISTED = {command.name: command for command in found if command is not None and command.name}
    return _UNLISTED


@click.group(cls=NestlabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option("--guest-user", metavar="USER", default=None,
              help="Log PowerShell Direct into real hosts' guests as USER (password: NESTLAB_GUEST_PASSWORD, "
                   "NESTLAB_GUEST_PASSWORD_FILE or a prompt; never argv). An inventory may name one per VM.")
@click.version_option(package_name="nestlab")
@click.pass_context
def cli(ctx: click.Context, debug: bool, guest_user: str | None) -> None:
    """nestlab: simulate, break, diagnose and heal Hyper-V nested-virtualization labs.

    \b
    Examples:
      nestlab demo                          every fault: inject, diagnose, heal
      nestlab labs                          the builtin labs
      nestlab validate my-lab.yaml          every error of a lab file
      nestlab diagnose builtin:reference    findings for a lab

    Shell completion: see the README (eval "$(_NESTLAB_COMPLETE=bash_source nestlab)").
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if guest_user:
        from nestlab.lab.guest_credentials import set_guest_user

        set_guest_user(guest_user)


def main(argv: list[str] | None = None) -> int:
    try:
        return cli.main(args=argv, prog_name="nestlab", standalone_mode=True) or 0
    except SystemExit as exc:  # click exits; keep the code
        return int(exc.code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
