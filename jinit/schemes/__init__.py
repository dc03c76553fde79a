"""Initialization schemes from the literature, re-exported at the top.

Depth- and width-scaled residual initializers (GPT-2, GPT-NeoX, DeepNet,
T-Fixup, Fixup, ReZero), ZerO, muP and LSUV.
"""

from jinit.schemes._lsuv import LsuvResult, lsuv
from jinit.schemes._mup import MupScaling, mup, mup_learning_rates, mup_scaling
from jinit.schemes._residual import (
    ResidualScales,
    deepnorm,
    deepnorm_scales,
    depth_scaled_normal,
    fixup,
    skip_init,
    t_fixup,
    t_fixup_embedding,
    wang_init,
)
from jinit.schemes._width import small_init
from jinit.schemes._zer_o import zer_o

__all__ = [
    "LsuvResult",
    "MupScaling",
    "ResidualScales",
    "deepnorm",
    "deepnorm_scales",
    "depth_scaled_normal",
    "fixup",
    "lsuv",
    "mup",
    "mup_learning_rates",
    "mup_scaling",
    "skip_init",
    "small_init",
    "t_fixup",
    "t_fixup_embedding",
    "wang_init",
    "zer_o",
]
