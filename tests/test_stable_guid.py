"""model.stable_guid: the ids and disk identifiers every load derives from names (issue 17 made
it write the UUID text itself)."""

from __future__ import annotations

from nestlab.simulator import model


def test_a_stable_guid_is_the_name_based_uuid_it_always_was():
    """model.stable_guid writes the version-5 UUID's text itself (issue 17): the same text
    uuid.UUID(bytes=sha1[:16], version=5) gives, for any names."""
    import hashlib
    import random
    import uuid

    rng = random.Random(17)
    for _ in range(2000):
        parts = tuple("".join(rng.choice("abcXYZ019-_/\\:é") for _ in range(rng.randrange(0, 12)))
                      for _ in range(rng.randrange(1, 4)))
        digest = hashlib.sha1("\x00".join(parts).encode()).digest()
        assert model.stable_guid.__wrapped__(*parts) == str(uuid.UUID(bytes=digest[:16], version=5)).upper()
