"""The ``vamoh`` command line: version, installed plugins, versions report, demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vamoh._version import __version__

__all__ = ["main"]


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


def _demo(args: argparse.Namespace) -> int:
    from vamoh.demo import run_demo

    return run_demo(output=args.output, quick=args.quick)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vamoh`` script.

    Example:
        >>> main(["--version"])  # doctest: +ELLIPSIS
        vamoh ...
        0
    """
    parser = argparse.ArgumentParser(prog="vamoh", description=__doc__)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("plugins", help="list installed modality plugins").set_defaults(func=_plugins)
    sub.add_parser("versions", help="versions for bug reports").set_defaults(func=_show_versions)
    demo = sub.add_parser("demo", help="the README's main job: fit, then fill gaps")
    demo.add_argument("--output", default="vamoh-output", help="folder for results")
    demo.add_argument("--quick", action="store_true", help="a few epochs only (smoke test)")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    if args.version:
        print(f"vamoh {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
