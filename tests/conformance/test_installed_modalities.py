"""vamoh.testing.check_modality over every installed modality (first-party and third-party)."""

from __future__ import annotations

import pytest

import vamoh
from vamoh.testing import check_modality

INSTALLED = sorted(vamoh.plugins.modalities())


def test_some_modality_is_installed() -> None:
    assert INSTALLED, "no modality is installed; `make install` installs the first-party ones"


@pytest.mark.parametrize("name", INSTALLED)
def test_modality_conforms(name: str) -> None:
    modality = vamoh.plugins.modalities()[name]
    # a modality the suite cannot exercise is a conformance failure, not a skip
    assert callable(getattr(modality, "example_data", None)), (
        f"modality {name!r} has no example_data(); add one (see vamoh.testing) so the "
        f"conformance suite can check it"
    )
    passed = check_modality(modality, fit=True)
    assert {"round trip", "likelihood support", "fit and reconstruct"} <= set(passed)
