"""Breed Bot tests (a package, so helpers import as ``tests.support``)."""
