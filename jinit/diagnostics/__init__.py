"""Is my initialization right? Signal diagnostics for any JAX model.

:func:`diagnose` measures the forward and backward signal at every weight
operation of a model's jaxpr; :func:`coord_check` is the muP coordinate
check. Both find the weight operations with the interpreter of
:mod:`jinit.diagnostics._weight_ops`, so they need no change to the model.
"""

from jinit.diagnostics._coord_check import CoordCheck, coord_check
from jinit.diagnostics._diagnose import (
    Diagnosis,
    JacobianSpectrum,
    LayerDiagnosis,
    diagnose,
)

__all__ = [
    "CoordCheck",
    "Diagnosis",
    "JacobianSpectrum",
    "LayerDiagnosis",
    "coord_check",
    "diagnose",
]
