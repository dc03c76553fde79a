"""Initialization schemes from the literature, re-exported at the top.

Depth- and width-scaled residual initializers (GPT-2, GPT-NeoX, DeepNet,
T-Fixup, Fixup, ReZero), ZerO, muP, LSUV, state-space models (HiPPO-LegS,
S4D, LRU, Mamba) and SIREN.
"""

from jinit.schemes._lsuv import LsuvResult, lsuv
from jinit.schemes._mimetic import mimetic
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
from jinit.schemes._siren import siren, siren_bias
from jinit.schemes._state_space import (
    hippo_legs,
    hippo_legs_nplr,
    lru_gamma_log,
    lru_input,
    lru_nu_log,
    lru_output,
    lru_theta_log,
    mamba_a_log,
    mamba_dt_bias,
    mamba_dt_proj,
    s4d,
    ssm_step,
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
    "hippo_legs",
    "hippo_legs_nplr",
    "lru_gamma_log",
    "lru_input",
    "lru_nu_log",
    "lru_output",
    "lru_theta_log",
    "lsuv",
    "mamba_a_log",
    "mamba_dt_bias",
    "mamba_dt_proj",
    "mimetic",
    "mup",
    "mup_learning_rates",
    "mup_scaling",
    "s4d",
    "siren",
    "siren_bias",
    "skip_init",
    "small_init",
    "ssm_step",
    "t_fixup",
    "t_fixup_embedding",
    "wang_init",
    "zer_o",
]
