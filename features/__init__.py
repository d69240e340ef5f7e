"""The guide's scenarios as a package (`nestlab.features`): `pytest --pyargs nestlab.features`
runs them from an installed wheel, with the step library the nestlab pytest plugin loads."""
