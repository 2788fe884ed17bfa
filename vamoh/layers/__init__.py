"""The learned layers on top of the Gaussian backbone, and how a fit trains and chooses them.

:mod:`~vamoh.layers.stack` carries a backbone fit between its steps;
:mod:`~vamoh.layers.head_training` trains the backbone head and
:mod:`~vamoh.layers.residual_training` feeds the VaMoH network the backbone's residuals;
:mod:`~vamoh.layers.ablation` measures each layer against what it sits on and keeps those that
help; :mod:`~vamoh.layers.conditional` answers conditional calls with what was kept.
"""
