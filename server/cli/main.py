"""The `tapps-lsp` command: `serve` (the default) speaks LSP, `check` reviews headlessly."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tapps_lsp.server.cli.check import EXIT_ERROR, FAIL_ON, CheckOptions, run_check
from tapps_lsp.server.cli.formats import FORMATS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapps-lsp",
        description="Review Python files with ruff, mypy and a quality score.",
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="speak LSP over stdio (the default) or TCP")
    _serve_options(serve)
    check = commands.add_parser("check", help="review files or folders and print findings")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.add_argument(
        "--format",
        dest="output_format",
        choices=FORMATS,
        default="text",
        help="text (streamed, the default), json, markdown, html or sarif (SARIF 2.1.0)",
    )
    check.add_argument(
        "--fail-on",
        choices=(*FAIL_ON, "none"),
        default="error",
        help="exit 1 when a finding is at least this severe (default: error)",
    )
    check.add_argument("--jobs", type=int, default=None, help="files reviewed at once")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    check.add_argument(
        "--stats", action="store_true", help="print cache hits/misses and timings to stderr"
    )
    check.add_argument(
        "--trust",
        action="store_true",
        help="let the checked projects choose programs: [tool.tapps] tool paths and "
        "interpreter, their .venv, mypy plugins (off by default: a checkout is untrusted)",
    )
    check.add_argument("--interpreter", help="the project's Python (mypy resolves imports there)")
    check.add_argument("--ruff-path", help="the ruff executable to run")
    check.add_argument("--mypy-path", help="the mypy executable to run")
    return parser


def _programs(args: argparse.Namespace) -> dict[str, Any]:
    """The programs named on the command line, as settings."""
    programs: dict[str, Any] = {}
    if args.interpreter:
        programs["interpreter"] = _from_here(args.interpreter)
    if args.ruff_path:
        programs["ruff"] = {"path": _from_here(args.ruff_path)}
    if args.mypy_path:
        programs["mypy"] = {"path": _from_here(args.mypy_path)}
    return programs


def _from_here(program: str) -> str:
    """A path relative to the working directory made absolute (settings would resolve it
    against the project root); a bare name stays, for PATH."""
    return str(Path(program).absolute()) if os.sep in program else program


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true", help="accepted and ignored (the default)")
    parser.add_argument("--tcp", action="store_true", help="serve over TCP, for debugging")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2087)
    parser.add_argument("--log-level", default="INFO")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "serve")
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else 0
    if args.command == "check":
        options = CheckOptions(
            paths=args.paths,
            output_format=args.output_format,
            fail_on=args.fail_on,
            no_cache=args.no_cache,
            stats=args.stats,
            trust=args.trust,
            programs=_programs(args),
        )
        if args.jobs:
            options.concurrency = args.jobs
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        return run_check(options)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("pygls").setLevel(logging.WARNING)
    from tapps_lsp.server.lsp.app import serve  # noqa: PLC0415 - `check` never pays for importing pygls

    serve(tcp=args.tcp, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
