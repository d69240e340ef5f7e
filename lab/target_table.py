"""Every kind of target, in one table: `nestlab diagnose TARGET` and `pytest --lab=TARGET` read it.

A row names a scheme (`psrp`, `inventory`, `fleet` …), what the rest of the text is, what the
target can do (its `Capabilities`), and where the code that opens it lives — as
"module:function" strings, imported only when that scheme is used, so that parsing a target never
imports Docker, pypsrp or pytest. The CLI opens a `lab.targets.Target` (a Session for a command);
the BDD suite opens a `steps.target.Target` (testbeds for scenarios). A row with only one of the
two is a target of that side only (`sim` has no lab of its own for the CLI; a lab file has no
place in a scenario that brings its own), and asking the other side for it says so.

Adding a target kind is adding a row here and the function(s) it names.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal

from nestlab.simulator.errors import BadInput

Side = Literal["cli", "bdd"]
SIDES: dict[Side, str] = {"cli": "TARGET", "bdd": "--lab"}


@dataclass(frozen=True)
class Capabilities:
    """What a kind of target can do, whatever a given run allows."""

    real_hosts: bool  # reached over PSRP as hosts that exist apart from this process
    destructive: bool  # a scenario that changes it (`@destructive`) may run: simulated always; real hosts
    # only where an entry can consent (`destructive: true`) and the run says --allow-destructive
    state_faults: bool  # physical changes (`inject: state`) and hop-by-hop traces: needs the simulator's model
    credentials: bool  # needs a password (NESTLAB_PASSWORD, the keyring or a prompt)

    def words(self) -> str:
        """`real hosts, read-only scenarios, password` …: how the table shows a row's capabilities.

        (`nestlab fix` is not governed here: on real hosts it changes only with `--yes`.)"""
        found = ["real hosts" if self.real_hosts else "simulated"]
        if not self.destructive:
            found.append("read-only scenarios")
        elif self.real_hosts:
            found.append("destructive scenarios with --allow-destructive")
        if self.state_faults:
            found.append("state faults")
        if self.credentials:
            found.append("password")
        return ", ".join(found)


SIMULATED = Capabilities(real_hosts=False, destructive=True, state_faults=True, credentials=False)
READ_ONLY_HOST = Capabilities(real_hosts=True, destructive=False, state_faults=False, credentials=True)
INVENTORY = Capabilities(real_hosts=True, destructive=True, state_faults=False, credentials=True)


@dataclass(frozen=True)
class Scheme:
    """One row: `name` and how its text looks (`syntax`), and the openers of each side."""

    name: str
    syntax: str
    help: str
    capabilities: Capabilities
    cli: str | None = None  # "module:function": (argument) -> lab.targets.Target
    bdd: str | None = None  # "module:function": (argument, *, allow_destructive) -> steps.target.Target
    argument: bool = True  # whether text follows the scheme (`inventory:PATH`) or not (`sim`)
    url: bool = False  # the argument is the whole text, scheme and all (`psrp://…`)

    def opener(self, side: Side) -> Callable[..., Any]:
        """The function that opens this kind for `side`, imported now (and only now)."""
        where = self.cli if side == "cli" else self.bdd
        if where is None:
            raise BadInput(f"{self.name}: not a {SIDES[side]} target")
        module, _, function = where.partition(":")
        return getattr(importlib.import_module(module), function)

    def serves(self, side: Side) -> bool:
        return (self.cli if side == "cli" else self.bdd) is not None


SCHEMES: tuple[Scheme, ...] = (
    Scheme("lab", "LAB.yaml", "a lab file, simulated in process", SIMULATED,
           cli="nestlab.lab.targets:lab_file_target"),
    Scheme("builtin", "builtin:NAME", "a lab shipped with nestlab (nestlab labs)", SIMULATED,
           cli="nestlab.lab.targets:builtin_target"),
    Scheme("sim", "sim", "the in-process simulator, a fresh lab per scenario (default)", SIMULATED,
           bdd="nestlab.steps.target:sim_target", argument=False),
    Scheme("endpoint", "endpoint", "each scenario's lab served over PSRP on loopback, through pypsrp", SIMULATED,
           bdd="nestlab.steps.target:endpoint_target", argument=False),
    Scheme("psrp", "psrp://[user@]host[:port][?transport=…&auth=…]", "one Windows host through PSRP",
           READ_ONLY_HOST, cli="nestlab.lab.targets:psrp_target", bdd="nestlab.steps.target_inventory:psrp_target",
           url=True),
    Scheme("inventory", "inventory:PATH", "every host of an inventory file", INVENTORY,
           cli="nestlab.lab.targets:inventory_target", bdd="nestlab.steps.target_inventory:inventory_target"),
    Scheme("fleet", "fleet:LAB", "the running containers of `nestlab up LAB`", INVENTORY,
           cli="nestlab.lab.targets:fleet_target", bdd="nestlab.steps.target_inventory:fleet_target"),
)
BY_NAME: dict[str, Scheme] = {scheme.name: scheme for scheme in SCHEMES}
PATH_SCHEME = BY_NAME["lab"]  # what a text without a scheme is (for the CLI: a lab file path)
_SCHEME_LIKE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")  # two letters at least: `C:\lab.yaml` is a path


def schemes(side: Side) -> tuple[Scheme, ...]:
    return tuple(s for s in SCHEMES if s.serves(side))


def describe(side: Side) -> str:
    """The table as one line, for a usage error or `--help`."""
    return "; ".join(f"{s.syntax} = {s.help} ({s.capabilities.words()})" for s in schemes(side))


def lookup(text: str, side: Side) -> tuple[Scheme, str]:
    """TARGET text → (its row, the text after the scheme); one line of BadInput if there is none.

    A URL scheme (`psrp://…`) keeps the whole text as its argument. Scheme names are matched
    without regard to case. For the CLI a text with no scheme is a lab file's path.
    """
    text = text.strip()
    where = _where(text, side)
    if not text:
        raise BadInput(f"empty target: give one of: {describe(side)}")
    prefix, colon, rest = text.partition(":")
    scheme = BY_NAME.get(prefix.lower()) if prefix.lower() != PATH_SCHEME.name else None
    if scheme is not None and (colon or not scheme.argument):
        if scheme.argument and not rest:
            raise BadInput(f"{where}: {scheme.name} needs its argument ({scheme.syntax})")
        if not scheme.argument and colon:
            raise BadInput(f"{where}: {scheme.name} takes no argument")
        return _served(scheme, where, text if scheme.url else rest, side)
    match = _SCHEME_LIKE.match(text)
    if side == "cli" and "://" not in text and (match is None or _is_file(text)):
        return PATH_SCHEME, text  # a path, even one whose name looks like a scheme (`v2:lab.yaml`)
    name = match.group(1) if match else text
    unknown = "unknown target scheme" if side == "cli" else "unknown target"
    raise BadInput(f"{where}: {unknown} {name!r}; known targets: {describe(side)}")


def _where(text: str, side: Side) -> str:
    return text if side == "cli" else f"--lab={text}"


def _served(scheme: Scheme, where: str, argument: str, side: Side) -> tuple[Scheme, str]:
    if not scheme.serves(side):
        others = ", ".join(s.syntax for s in schemes(side))
        raise BadInput(f"{where}: {scheme.syntax} is not a {SIDES[side]} target (these are: {others})")
    return scheme, argument


def _is_file(text: str) -> bool:
    from pathlib import Path

    return Path(text).is_file()
