"""Engine-side input checks: what every modality's points must satisfy before training or decoding.

A modality checks what only it can know (coordinates, units, variable names); these checks
cover what holds for all of them, on the :class:`~vamoh.pointset.PointSet` a modality returns:
values must be numbers, infinite values are refused (NaN is missing data and stays allowed),
nothing may be empty, a mask must lie on the data's points, and data of another modality given
to a trained model is named as such. Each error names the variable, what is wrong, how many
values, and the fix. Plugins may call the helpers (:func:`check_not_empty`,
:func:`non_finite_message`) to phrase their own errors the same way.

Example:
    >>> import numpy as np
    >>> from vamoh.pointset import PointSet
    >>> ps = PointSet(np.zeros((3, 1)), np.array([[[1.0], [np.inf], [np.nan]]]), ("t2m",), ("K",))
    >>> try:
    ...     training_samples(ps)
    ... except NonFiniteValuesError as error:
    ...     print(str(error)[:57])
    variable 't2m' has 1 infinite value (+inf 1) in 1 of 1 sa
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from vamoh.pointset import PointSet

if TYPE_CHECKING:
    from vamoh.modality import Modality

__all__ = [
    "EmptyDataError",
    "InputError",
    "ModalityMismatchError",
    "NonFiniteValuesError",
    "PointsMismatchError",
    "ValueTypeError",
    "check_not_empty",
    "check_same_points",
    "model_points",
    "non_finite_message",
    "training_samples",
]


class InputError(ValueError):
    """Base class of the engine's input errors (a ``ValueError``, raised before any work)."""


class NonFiniteValuesError(InputError):
    """Values contain ``inf`` or ``-inf`` (NaN marks missing data and is allowed)."""


class EmptyDataError(InputError):
    """A dimension has size 0: no samples, no points or no variables."""


class ValueTypeError(InputError):
    """Values are not real numbers (strings, objects, complex numbers)."""


class PointsMismatchError(InputError):
    """Two inputs that must share their points (data and mask) do not."""


class ModalityMismatchError(InputError):
    """Data of one modality were given to a model trained on another."""


_FIX_NON_FINITE = (
    "vamoh treats NaN as missing but cannot use inf: mark them missing with "
    "data.where(np.isfinite(data)) (xarray) or fix them at their source (a fill value such as "
    "9.96921e36 decoded without its _FillValue attribute is a common cause)"
)


def non_finite_message(
    variable: str, n_pos: int, n_neg: int, n_samples_bad: int, n_samples: int, first: int
) -> str:
    """The message for infinite values of ``variable`` (shared by vamoh and plugins).

    Example:
        >>> non_finite_message("t2m", 2, 1, 1, 8, 3)[:65]
        "variable 't2m' has 3 infinite values (+inf 2, -inf 1) in 1 of 8 s"
    """
    n = n_pos + n_neg
    signs = ", ".join(f"{s} {c}" for s, c in (("+inf", n_pos), ("-inf", n_neg)) if c)
    plural = "s" if n != 1 else ""
    return (
        f"variable {variable!r} has {n} infinite value{plural} ({signs}) in {n_samples_bad} of "
        f"{n_samples} samples (the first in sample {first}); {_FIX_NON_FINITE}."
    )


def check_not_empty(
    sizes: Mapping[Any, int], what: str, error: type[ValueError] = EmptyDataError
) -> None:
    """Raise ``error`` naming each dimension of ``sizes`` that has size 0.

    Example:
        >>> try:
        ...     check_not_empty({"time": 0, "lat": 4}, "variable 't2m'")
        ... except EmptyDataError as error:
        ...     print(error)
        variable 't2m' has dimension 'time' of size 0: there is nothing to model. Select a non-empty range (check the .sel/.isel that made it).
    """
    empty = [str(d) for d, n in sizes.items() if int(n) == 0]
    if empty:
        names = ", ".join(repr(d) for d in empty)
        raise error(
            f"{what} has dimension{'s' if len(empty) > 1 else ''} {names} of size 0: there is "
            f"nothing to model. Select a non-empty range (check the .sel/.isel that made it)."
        )


def _check_shape_and_type(points: PointSet) -> None:
    names = ", ".join(repr(c) for c in points.channels) or "(none)"
    check_not_empty(
        {"samples": points.n_samples, "points": points.n_points, "variables": points.n_channels},
        f"the data (variables {names})",
    )
    kind = np.dtype(points.values.dtype).kind
    if kind not in "fiub":
        what = "complex numbers" if kind == "c" else f"{points.values.dtype} values, not numbers"
        fix = (
            "model the real and imaginary parts as two variables"
            if kind == "c"
            else "convert them with .astype('float32'), or leave those variables out"
        )
        raise ValueTypeError(f"variables {names} hold {what}; {fix}.")


def _scan(block: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample usability and infinite-value flags of a block; adds to ``counts`` (2, C)."""
    finite = np.isfinite(block)
    if block.dtype.kind != "f":
        return finite.any(axis=(1, 2)), np.zeros(block.shape[0], bool)
    infinite = np.isinf(block)
    if infinite.any():
        counts[0] += (infinite & (block > 0)).sum(axis=(0, 1))
        counts[1] += (infinite & (block < 0)).sum(axis=(0, 1))
    return finite.any(axis=(1, 2)), infinite.any(axis=(1, 2))


def _raise_non_finite(points: PointSet, counts: np.ndarray, bad_samples: np.ndarray) -> None:
    channel = int(np.flatnonzero(counts.sum(axis=0))[0])
    bad = np.flatnonzero(bad_samples)
    raise NonFiniteValuesError(
        non_finite_message(
            points.channels[channel],
            int(counts[0, channel]),
            int(counts[1, channel]),
            len(bad),
            points.n_samples,
            int(bad[0]),
        )
    )


def training_samples(points: PointSet) -> np.ndarray:
    """``(S,)`` which samples have at least one value; refuses bad values first.

    One pass over the values, a block of samples at a time (lazy stores are read once, never
    whole), checking for infinite values on the way.

    Raises:
        EmptyDataError: no samples, points or variables, or no sample with a value.
        ValueTypeError: values that are not real numbers.
        NonFiniteValuesError: ``inf``/``-inf`` anywhere, naming the variable and the counts.

    Example:
        >>> import numpy as np
        >>> ps = PointSet(np.zeros((2, 1)), np.array([[[1.0], [2.0]], [[np.nan], [np.nan]]]),
        ...               ("v",), (None,))
        >>> training_samples(ps).tolist()
        [True, False]
    """
    _check_shape_and_type(points)
    counts = np.zeros((2, points.n_channels), np.int64)
    usable, infinite = [], []
    for block in points.blocks():
        has_data, has_inf = _scan(block, counts)
        usable.append(has_data)
        infinite.append(has_inf)
    if counts.any():
        _raise_non_finite(points, counts, np.concatenate(infinite))
    usable_samples = np.concatenate(usable)
    if not usable_samples.any():
        raise EmptyDataError(
            f"every sample of variables {list(points.channels)} is entirely NaN: there is nothing "
            f"to train on. Check the selection (a region or period without data?) and the "
            f"variables' fill values."
        )
    return usable_samples


def _refuse_infinite_block(block: np.ndarray, channels: tuple[str, ...]) -> np.ndarray:
    counts = np.zeros((2, block.shape[2]), np.int64)
    _, infinite = _scan(np.asarray(block), counts)
    if counts.any():
        channel = int(np.flatnonzero(counts.sum(axis=0))[0])
        n_pos, n_neg = int(counts[0, channel]), int(counts[1, channel])
        signs = ", ".join(f"{s} {c}" for s, c in (("+inf", n_pos), ("-inf", n_neg)) if c)
        n, k = n_pos + n_neg, int(infinite.sum())
        raise NonFiniteValuesError(
            f"variable {channels[channel]!r} has {n} infinite value{'s' if n != 1 else ''} "
            f"({signs}) in {k} of the {block.shape[0]} samples being read (lazy data are checked "
            f"as they are read); {_FIX_NON_FINITE}."
        )
    return block


def _checked_values(points: PointSet) -> PointSet:
    """Refuse infinite values now (in memory) or as each chunk is read (lazy)."""
    values = points.values
    if hasattr(values, "map_blocks") and not isinstance(values, np.ndarray):
        # checking a lazy store now would read it all once more: check each chunk as it is read
        return points.with_values(
            values.map_blocks(_refuse_infinite_block, points.channels, dtype=values.dtype)
        )
    counts = np.zeros((2, points.n_channels), np.int64)
    _, infinite = _scan(np.asarray(values), counts)
    if counts.any():
        _raise_non_finite(points, counts, infinite)
    return points


def _claimed_by_another(modality: Modality, data: Any) -> str | None:
    from vamoh.detection import score_modalities

    every = score_modalities(data)
    own = every.get(modality.name, 0)
    # the modality's own complaint (a missing covariate, a bad station) stands when it claims
    # the data at least as strongly as any other: they are its kind of data, with a problem
    scores = {n: s for n, s in every.items() if n != modality.name and s > max(own, 0)}
    return max(scores, key=scores.__getitem__) if scores else None


def model_points(modality: Modality, data: Any, variables: list[str]) -> PointSet:
    """``data`` as points for a trained model of ``modality``, checked like training data.

    When the modality cannot read the data and another installed modality claims them, the
    error says so (a climate model given an image) instead of the modality's own complaint.

    Raises:
        ModalityMismatchError: the data belong to another installed modality.
        EmptyDataError, ValueTypeError, NonFiniteValuesError: as :func:`training_samples`
            (infinite values in lazy data are refused as each chunk is read).

    Example:
        >>> import numpy as np, vamoh
        >>> from vamoh.toy import ToyModality
        >>> bad = np.array([[0.0, np.inf, 1.0]])
        >>> try:
        ...     model_points(ToyModality(), bad, ["v0"])
        ... except NonFiniteValuesError as error:
        ...     print(str(error)[:46])
        variable 'v0' has 1 infinite value (+inf 1) in
    """
    try:
        points = modality.to_points(data, variables=variables)
    except ValueError as exc:
        other = _claimed_by_another(modality, data)
        if other is None:
            raise
        raise ModalityMismatchError(
            f"this model was trained on {modality.name!r} data with variables {variables}, but "
            f"these data ({type(data).__name__}) look like {other!r} data: {modality.name!r} "
            f"cannot read them ({type(exc).__name__}). Use a model trained on {other!r} data "
            f"(vamoh.fit(data) trains one), or pass {modality.name!r} data."
        ) from exc
    _check_shape_and_type(points)
    return _checked_values(points)


def check_same_points(points: PointSet, other: PointSet, what: str) -> None:
    """Refuse ``other`` (e.g. a mask) unless it lies on ``points``' points and samples.

    Example:
        >>> import numpy as np
        >>> a = PointSet(np.zeros((4, 1)), np.zeros((2, 4, 1)), ("v",), (None,))
        >>> b = PointSet(np.zeros((3, 1)), np.zeros((2, 3, 1)), ("v",), (None,))
        >>> try:
        ...     check_same_points(a, b, "the mask")
        ... except PointsMismatchError as error:
        ...     print(str(error)[:54])
        the mask has 2 samples of 3 points but the data have 2
    """
    same_shape = (other.n_samples, other.n_points) == (points.n_samples, points.n_points)
    if same_shape and np.allclose(other.coords, points.coords, atol=1e-6):
        return
    described = f"{other.n_samples} samples of {other.n_points} points"
    wanted = f"{points.n_samples} samples of {points.n_points} points"
    where = "" if not same_shape else " at other locations"
    raise PointsMismatchError(
        f"{what} has {described}{where} but the data have {wanted}; {what} must lie on the "
        f"data's own grid and samples, e.g. a boolean array with the data's dims "
        f"(data.isnull() marks what is missing)."
    )
