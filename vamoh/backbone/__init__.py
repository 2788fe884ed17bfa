"""The engine's backbone: a Gaussian prior learned from the training fields, conditioned exactly.

See :mod:`vamoh.backbone.prior` for the prior, :mod:`vamoh.backbone.posterior` for the
conditioning and :mod:`vamoh.backbone.select` for how its hyper-parameters are chosen.
"""
