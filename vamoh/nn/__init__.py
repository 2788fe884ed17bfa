"""The network modules of the engine: encoder, hypernetworks, mixture, flow prior, local path.

Each is a plain ``torch.nn.Module`` with its shapes documented; :class:`vamoh.model.VaMoH`
assembles them.
"""
