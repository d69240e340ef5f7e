"""The table of subcommands: each row names a command, its module here and its short help.

Reading this table costs nothing, so `nestlab --help` (and shell completion of a subcommand) does
not import a single subcommand; `nestlab NAME …` imports only `nestlab.lab.commands.<module>`,
whose top level imports only click (its libraries are imported inside the command). One module
per subcommand still: a module that defines a click `command` and is missing here is found and
registered anyway (`lab/cli.py` imports it to learn its name, the slow way), and
tests/test_cli_startup.py fails until its row is added — with the help text it must carry.
"""

from __future__ import annotations

# name -> (module in this package, the command's short help: the first sentence of its docstring)
COMMANDS: dict[str, tuple[str, str]] = {
    "capture": ("capture", "Collect TARGET's evidence and write it as a lab file (what it could not see is in its header)."),
    "check": ("check", "Walk the guide's troubleshooting checklist on TARGET: pass / fail / not applicable."),
    "collect": ("collect", "Collect the troubleshooting guide's data-collection bundle from TARGET."),
    "demo": ("demo", "For every fault: build builtin:reference, inject it, show the symptom the simulator produces, "
                     "diagnose, apply the resolution, diagnose again."),
    "diagnose": ("diagnose", "Collect evidence from TARGET and name root causes, subjects, evidence and fixes."),
    "down": ("down", "Remove every container and network labelled as LAB's fleet, and nothing else."),
    "draw": ("draw", "Draw LAB (a lab file or builtin:NAME): hosts and VMs as nested boxes by level, switches, NATs, disks and the physical networks."),
    "faults": ("faults", "List every fault the simulator can inject (the root-cause ids of the catalog)."),
    "fidelity": ("fidelity", "Capture TARGET, run every probe on it and on the captured lab in the simulator, list each difference."),
    "fix": ("fix", "Diagnose TARGET, then apply each finding's resolution (causes first)."),
    "fleet": ("fleet", "List the containers of every fleet (or of LAB's): lab, host, container, status, address."),
    "generate": ("generate", "Write a realistic random lab (Faker names, addresses, Windows paths)."),
    "grade": ("grade", "Inject every root cause into the labs, run DIAGNOSTIC on each, and print recall and precision per root cause, what it said instead when it missed, and its false alarms on the healthy labs — beside nestlab's own diagnosis."),
    "import": ("import_", "Import a data-collection bundle (folder or zip, ours or a customer's) as a lab file."),
    "inject": ("inject", "Write LAB with the fault FAULT_ID applied (see `nestlab faults`)."),
    "labs": ("labs", "List the builtin labs (use them as builtin:NAME)."),
    "ps": ("ps", "Run PowerShell on a simulated host and print it as a PowerShell console would."),
    "restore": ("restore", "Undo, newest first, every step of JOURNAL not yet undone, verify each by reading back, and compare the hosts with the run's baseline."),
    "serve": ("serve", "Serve each host of LAB as a Hyper-V host would answer pypsrp, pywinrm or Ansible."),
    "triage": ("triage", "Rank the root causes that TEXT points to: an error message (verbatim or in your own words), "
                         "an event id (3112, 41, 7023, 19100) or a hex code (0xC03A000D, 0x80070002, 0x80370102)."),
    "up": ("up", "Run each host of LAB as a container serving WS-Management/PSRP on port 5985 of its own address."),
    "validate": ("validate", "Check a lab file (a path or builtin:NAME) and report every error, not just the first."),
}
