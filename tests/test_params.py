import math

import pytest

from holstein import PAPER, HolsteinParams


def test_paper_preset():
    assert (PAPER.t, PAPER.g, PAPER.k, PAPER.kappa, PAPER.mass, PAPER.gamma, PAPER.kT, PAPER.dt) == (
        1.0, 3.5, 1.0, 0.18, 5.0, 0.2, 0.1, 0.05)


@pytest.mark.parametrize("field,value", [("mass", 0.0), ("mass", -1.0), ("dt", 0.0), ("gamma", -0.1),
                                         ("kT", -1e-3), ("g", math.nan), ("t", math.inf), ("kappa", 0.3)])
def test_unphysical_parameters_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        PAPER.replace(**{field: value})


def test_non_numbers_rejected():
    with pytest.raises(TypeError, match="g"):
        HolsteinParams(g="3.5")


def test_frozen_and_replace():
    with pytest.raises(AttributeError):
        PAPER.g = 1.0
    p = PAPER.replace(kT=0.0)
    assert p.kT == 0.0 and PAPER.kT == 0.1 and p.to_dict()["g"] == 3.5


def test_numpy_scalars_are_real_numbers():
    """np.float32(3.5), np.int64(1) are accepted (stored as float); complex and NaN are not."""
    import numpy as np

    p = HolsteinParams(g=np.float32(3.5), k=np.int64(1))
    assert p.g == 3.5 and type(p.g) is float and p.k == 1.0
    with pytest.raises(TypeError, match="real number"):
        HolsteinParams(g=np.complex128(3.5))
    with pytest.raises(ValueError, match="finite"):
        HolsteinParams(g=np.float64("nan"))
