"""Every scenario of every feature file in this folder (and below) is a pytest test.

The folder is given as an absolute path (the package data's), so the scenarios are the same
whether pytest runs them from the repository or as `pytest --pyargs nestlab.features` from an
installed wheel, whatever `bdd_features_base_dir` the running project sets."""

from pytest_bdd import scenarios

from nestlab.resources import features_dir

scenarios(str(features_dir()))
