"""The ``vamoh`` command line: fit, downscale, impute, sample, demo, plugins, versions.

Data arguments are anything ``vamoh.open_dataset`` opens (a Zarr store, a netCDF file, an image
folder, ...); results are written by suffix (``.zarr`` store, else netCDF) and never replace an
existing file unless ``--overwrite`` is given. A ``.zarr`` result of ``downscale`` and ``impute``
is written a block of samples at a time (:func:`vamoh.output.write_predictions`), so memory does
not grow with the number of fields. Bad input is reported in one line, without a traceback, and
the command exits with status 1.

Progress goes to standard output, like the results' messages: Lightning's bar while ``fit``
trains in a terminal, plain timed lines with an ETA in a log or a pipe, and lines for
predictions that take more than 10 seconds; ``--quiet`` turns it off. Errors go to standard
error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vamoh._version import __version__
from vamoh.atomic import atomic_output, check_new_output
from vamoh.progress import quiet

__all__ = ["available_demos", "main", "parse_assignments", "parse_selection"]

DEFAULT_DEMO = "climate"  # the README's main job; the built-in toy demo when it is not installed


# -- argument helpers ----------------------------------------------------------------------------
def _value(text: str) -> Any:
    """JSON when it parses (numbers, lists, true/false/null), else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignments(items: Sequence[str] | None, what: str = "--config") -> dict[str, Any]:
    """``["key=value", ...]`` as a dict; values are JSON where they parse, else strings.

    Example:
        >>> parse_assignments(["max_epochs=5", "conditioning=local+hybrid", "generator_layers=[32,32]"])
        {'max_epochs': 5, 'conditioning': 'local+hybrid', 'generator_layers': [32, 32]}
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what} expects key=value; got {item!r}.")
        out[key.strip()] = _value(text.strip())
    return out


def parse_selection(items: Sequence[str] | None) -> dict[str, Any]:
    """``--sel`` items as ``Dataset.sel`` indexers: ``DIM=START:STOP`` (``START..STOP`` when the
    labels hold colons, e.g. times of day) is a label slice with both ends included;
    ``DIM=VALUE`` picks one label.

    Example:
        >>> parse_selection(["time=2019-03-01:2019-03-24", "lat=50..58", "member=3"])
        {'time': slice('2019-03-01', '2019-03-24', None), 'lat': slice(50, 58, None), 'member': 3}
        >>> parse_selection(["time=2019-03-01T06:00..2019-03-02T18:00"])["time"].stop
        '2019-03-02T18:00'
        >>> parse_selection(["time=2019-03-01T06:00"])
        {'time': '2019-03-01T06:00'}
    """
    out: dict[str, Any] = {}
    for key, value in parse_assignments(items, "--sel").items():
        if not isinstance(value, str):
            out[key] = value
            continue
        # a colon inside a time of day ("2019-03-01T06:00") is not a range
        colon_range = value.count(":") == 1 and "T" not in value and " " not in value
        if ".." in value or colon_range:
            start, _, stop = value.partition("..") if ".." in value else value.partition(":")
            out[key] = slice(_value(start) if start else None, _value(stop) if stop else None)
        else:
            out[key] = value
    return out


def _open(path: str, selection: Sequence[str] | None) -> Any:
    import vamoh

    if not Path(path).exists() and "://" not in path:
        raise FileNotFoundError(f"no file, folder or store at {path!r}; check the path.")
    data = vamoh.open_dataset(path)
    chosen = parse_selection(selection)
    if not chosen:
        return data
    missing = [d for d in chosen if d not in data.dims and d not in data.coords]
    if missing:
        raise ValueError(
            f"--sel names {missing}, which the data do not have; dims: {list(map(str, data.dims))}."
        )
    return data.sel(chosen)


def _check_writable(path: str, overwrite: bool) -> Path:
    return check_new_output(path, overwrite, hint="--overwrite")


def _write(result: Any, path: str, overwrite: bool) -> Path:
    """Write an xarray result by suffix: ``.zarr`` -> Zarr store, anything else -> netCDF.

    The store is written beside ``path`` and renamed into place, so an interrupted write never
    leaves half a result under the name.
    """
    import warnings

    import xarray as xr

    target = _check_writable(path, overwrite)
    if isinstance(result, xr.DataArray):
        result = result.to_dataset(name=str(result.name or "values"))
    result = result.drop_encoding()
    with atomic_output(target, overwrite=overwrite, hint="--overwrite") as partial:
        if target.suffix == ".zarr":
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
                result.to_zarr(partial, mode="w-")
        else:
            result.to_netcdf(partial)
    print(f"wrote {target}")
    return target


# -- commands ------------------------------------------------------------------------------------
def _plugins(_: argparse.Namespace) -> int:
    from vamoh import plugins

    rows = plugins.installed_plugins()
    modalities = plugins.modalities()
    readers = plugins.readers()
    if not rows:
        print("no vamoh plugins installed; try: pip install 'vamoh[all]'")
        return 0
    print(f"{'plugin':<12} {'package':<16} {'version':<10} provides")
    for row in rows:
        mods = [n for n in modalities if plugins.owner("modalities", n) == row["name"]]
        rds = [n for n in readers if plugins.owner("readers", n) == row["name"]]
        provides = ", ".join([*(f"modality {m}" for m in mods), *(f"reader {r}" for r in rds)])
        status = "" if row["status"] == "loaded" else f"  [{row['status']}]"
        print(f"{row['name']:<12} {row['package']:<16} {row['version']:<10} {provides}{status}")
    return 0


def _show_versions(_: argparse.Namespace) -> int:
    from vamoh.versions import show_versions

    show_versions()
    return 0


def available_demos() -> dict[str, Callable[..., int]]:
    """The built-in ``toy`` demo and every demo plugins contribute (``vamoh_demos`` hook).

    Example:
        >>> "toy" in available_demos()
        True
    """
    from vamoh import plugins
    from vamoh.demo import run_demo

    demos: dict[str, Callable[..., int]] = {"toy": run_demo}
    for name, function in plugins.demos().items():
        if name in demos:
            raise ValueError(f"a plugin registers demo {name!r}, a built-in name; rename it.")
        demos[name] = function
    return demos


def _describe(function: Callable[..., Any]) -> str:
    doc = (function.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _demo(args: argparse.Namespace) -> int:
    demos = available_demos()
    if args.list:
        default = DEFAULT_DEMO if DEFAULT_DEMO in demos else "toy"
        for name, function in demos.items():
            mark = " (default)" if name == default else ""
            print(f"{name:<10} {_describe(function)}{mark}")
        return 0
    name = args.name or (DEFAULT_DEMO if DEFAULT_DEMO in demos else "toy")
    if name not in demos:
        hint = " (pip install 'vamoh[climate]')" if name == DEFAULT_DEMO else ""
        raise ValueError(f"no demo named {name!r}{hint}; available: {sorted(demos)}.")
    return int(demos[name](output=args.output, quick=args.quick))


def _fit(args: argparse.Namespace) -> int:
    import vamoh

    _check_writable(args.out, args.overwrite)  # before training, not after
    data = _open(args.data, args.sel)
    config = parse_assignments(args.config)
    # without --checkpoint-dir nothing but --out is written; Ctrl-C or SIGTERM still stop
    # cleanly, and --out then holds the best validated weights
    with quiet(args.quiet):
        model = vamoh.fit(
            data,
            variables=args.variables,
            sample_dim=args.sample_dim,
            modality=args.modality,
            config=config or None,
            max_epochs=args.epochs,
            val_fraction=args.val_fraction,
            progress=not args.quiet,
            checkpoint_dir=args.checkpoint_dir,
            resume=args.resume,
        )
    path = model.save(args.out, overwrite=args.overwrite)
    print(f"saved {model!r} to {path}")
    return 0


def _load(path: str) -> Any:
    import vamoh

    return vamoh.load(path)


def _predict_into(args: argparse.Namespace, model: Any, method: str, data: Any, **kw: Any) -> int:
    """A Zarr --out is written block by block (bounded memory), anything else in one piece."""
    if Path(args.out).suffix == ".zarr":
        from vamoh.output import write_predictions

        target = write_predictions(
            model, method, data, args.out, overwrite=args.overwrite, progress=not args.quiet, **kw
        )
        print(f"wrote {target}")
    else:
        with quiet(args.quiet):
            result = getattr(model, method)(data, **kw)
        _write(result, args.out, args.overwrite)
    return 0


def _downscale(args: argparse.Namespace) -> int:
    _check_writable(args.out, args.overwrite)
    model = _load(args.model)
    data = _open(args.data, args.sel)
    if args.to is not None:
        return _predict_into(args, model, "downscale", data, to=_open(args.to, None))
    return _predict_into(args, model, "downscale", data, factor=args.factor)


def _impute(args: argparse.Namespace) -> int:
    _check_writable(args.out, args.overwrite)
    model = _load(args.model)
    return _predict_into(args, model, "impute", _open(args.data, args.sel))


def _sample(args: argparse.Namespace) -> int:
    from vamoh.progress import progress_report

    _check_writable(args.out, args.overwrite)
    model = _load(args.model)
    like = _open(args.like, args.sel)
    # one forward pass: a long one ends with a line saying how long it took
    with progress_report(args.n, what="sampling", enabled=not args.quiet) as report:
        result = model.sample(args.n, like=like, seed=args.seed)
        report.advance(args.n)
    _write(result, args.out, args.overwrite)
    return 0


# -- parser --------------------------------------------------------------------------------------
def _output_options(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--out",
        required=default is None,
        default=default,
        help="result path: NAME.zarr (Zarr store) or NAME.nc (netCDF)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _selection_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sel",
        nargs="+",
        metavar="DIM=START:STOP",
        help="select by labels first: time=2019-03-01:2019-03-24 (ends included; START..STOP "
        "when labels hold colons)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vamoh", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("plugins", help="list installed modality plugins").set_defaults(func=_plugins)
    sub.add_parser("versions", help="versions for bug reports").set_defaults(func=_show_versions)

    demo = sub.add_parser("demo", help="the README's main job: fit real data, compare baselines")
    demo.add_argument("name", nargs="?", help="which demo (default: climate, else toy)")
    demo.add_argument("--list", action="store_true", help="list the available demos")
    demo.add_argument("--output", default="vamoh-output", help="folder for results")
    demo.add_argument("--quick", action="store_true", help="seconds, not minutes (smoke test)")
    demo.set_defaults(func=_demo)

    fit = sub.add_parser("fit", help="train a model on DATA and save it")
    fit.add_argument("data", help="a file, folder or store vamoh.open_dataset opens")
    fit.add_argument("--out", required=True, help="model file to write (e.g. t2m.vamoh)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    fit.add_argument("--variables", nargs="+", help="variables to model (default: all)")
    fit.add_argument("--sample-dim", nargs="+", help="dimension(s) indexing samples")
    fit.add_argument("--modality", help="skip detection: the modality name")
    fit.add_argument("--epochs", type=int, help="training epochs (config max_epochs)")
    fit.add_argument("--val-fraction", type=float, default=0.1, help="held-out share")
    fit.add_argument(
        "--config", nargs="+", metavar="KEY=VALUE", help="VaMoHConfig overrides (JSON values)"
    )
    fit.add_argument(
        "--checkpoint-dir", help="keep last.ckpt (to --resume an interrupted run) and best.ckpt"
    )
    fit.add_argument("--resume", help="continue from a last.ckpt of --checkpoint-dir")
    fit.add_argument("--quiet", action="store_true", help="no progress or report")
    _selection_option(fit)
    fit.set_defaults(func=_fit)

    down = sub.add_parser("downscale", help="predict DATA on a finer grid")
    down.add_argument("model", help="a .vamoh file")
    down.add_argument("data", help="coarse fields")
    down.add_argument("--factor", type=int, default=2, help="refinement factor (default 2)")
    down.add_argument("--to", help="a file whose grid is the target (instead of --factor)")
    _output_options(down)
    _selection_option(down)
    down.set_defaults(func=_downscale)

    impute = sub.add_parser("impute", help="fill the NaN gaps of DATA (observed values kept)")
    impute.add_argument("model", help="a .vamoh file")
    impute.add_argument("data", help="fields or stations with NaN gaps")
    _output_options(impute)
    _selection_option(impute)
    impute.set_defaults(func=_impute)

    sample = sub.add_parser("sample", help="draw unconditional fields from the model's prior")
    sample.add_argument("model", help="a .vamoh file")
    sample.add_argument("--like", required=True, help="data whose points the samples take")
    sample.add_argument("-n", type=int, default=4, help="number of samples (default 4)")
    sample.add_argument("--seed", type=int, help="random seed")
    _output_options(sample)
    _selection_option(sample)
    sample.set_defaults(func=_sample)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vamoh`` script; returns the exit status.

    Example:
        >>> main(["--version"])  # doctest: +ELLIPSIS
        vamoh ...
        0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        print(f"vamoh {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        # bad input: the message names the problem and the fix; a traceback would bury it
        print(f"vamoh {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
