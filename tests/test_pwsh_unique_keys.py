"""-Unique (Select-Object, Sort-Object) keeps what comparing every pair kept, without comparing every pair.

`objects._unique` looks PSObjects up by a key built once (their properties as text) instead of
comparing each new object with every kept one (issue 17 item 4: it was most of a check script's
time on a host of 20 VMs). The reference below is the pairwise rule it replaced."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from nestlab.simulator import labfile, powershell
from nestlab.simulator.psdata import PSObject
from nestlab.simulator.pwsh import ops, run_script
from nestlab.simulator.pwsh.builtins import objects
from nestlab.simulator.pwsh.values import iter_props, to_str


def pairwise_unique(items):
    def same(a, b):
        if isinstance(a, PSObject) and isinstance(b, PSObject):
            return [(k.lower(), to_str(v)) for k, v in iter_props(a)] == [(k.lower(), to_str(v)) for k, v in iter_props(b)]
        return ops.equal(a, b)

    unique = []
    for item in items:
        if not any(same(item, seen) for seen in unique):
            unique.append(item)
    return unique


scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from(["", "1", "a", "A", "L1", "l1", "True"]))
objects_ = st.builds(
    lambda names, values: PSObject(["Test.Thing"], list(zip(names, values))),
    st.lists(st.sampled_from(["Name", "name", "State", "Id"]), min_size=0, max_size=3, unique=True),
    st.lists(scalars, min_size=3, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(objects_, scalars), max_size=12))
def test_unique_keeps_exactly_what_the_pairwise_rule_kept(items):
    assert [id(i) for i in objects._unique(items)] == [id(i) for i in pairwise_unique(items)]


def test_sort_object_unique_in_a_script_drops_repeated_vms():
    lab = labfile.load("builtin:reference")
    result = run_script(lambda c, p: powershell.run(lab, c, p), "HV01",
                        "@(Get-VM; Get-VM; Get-VM) | Sort-Object -Property Name -Unique | ForEach-Object { $_.Name }")
    assert not result.errors and list(result.output) == ["L1"]
