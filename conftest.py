"""The repository's suite uses the nestlab pytest plugin (`nestlab.pytest_plugin`) like any other
project: the `pytest11` entry point loads it, with `--lab`, `--allow-destructive`, the markers,
the step library and the fixtures. Nothing is registered here, so nothing is registered twice."""
