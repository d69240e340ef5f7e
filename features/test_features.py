"""Every scenario of every feature file in this folder (and below) is a pytest test."""

from pytest_bdd import scenarios

scenarios(".")
