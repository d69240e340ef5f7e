"""Windows' Default Switch, known by its fixed Id rather than by its name and the host's build.

Windows 10 1709+ and 11 create the Default Switch (Internal; Internet Connection Sharing gives it
DHCP and NAT, with no NetNat object) with the same Id on every host,
`c08cb7b8-9b3c-408e-8e30-5e16a3aeb444`. Tools that must find it look it up by that Id
(code-ready/crc `hypervDefaultVirtualSwitchId` with `Get-VMSwitch -Id …`; canonical/multipass
`kDefaultHyperVSwitchGUID`), because a name can be anyone's: a server's own switch called "Default
Switch" is a plain Internal switch, and the Id stays the same where the name does not.

The Id is what `Get-VMSwitch` showed (the `switch_guid` fact). Where it was not collected (a
bundle or paste without the column), the caller falls back to the name and the build.
"""

from __future__ import annotations

from nestlab.diagnosis.evidence import Evidence

DEFAULT_SWITCH_ID = "c08cb7b8-9b3c-408e-8e30-5e16a3aeb444"


def is_default_switch(ev: Evidence, switch: str) -> bool | None:
    """True/False by the Id `Get-VMSwitch` showed for `switch` (a node id); None when none was seen."""
    fact = ev.of(switch).switch_guid
    if fact is None or not fact.value:
        return None
    return str(fact.value).strip("{}").lower() == DEFAULT_SWITCH_ID
