"""The `tapps-lsp` command: `serve` (the default) speaks LSP, `check` reviews headlessly,
`run` runs a review workflow, `runs` lists the recent ones, and `mcp` serves MCP."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tapps_lsp.server.cli.check import EXIT_ERROR, FAIL_ON, CheckOptions, run_check
from tapps_lsp.server.cli.check_baseline import BaselineFlags
from tapps_lsp.server.cli.formats import FORMATS
from tapps_lsp.server.cli.limits import add_limit_flags, limit_problem
from tapps_lsp.server.cli.listings import RunsOptions, list_runs
from tapps_lsp.server.cli.mcp_command import McpOptions, serve_mcp_command
from tapps_lsp.server.cli.recommend import RecommendOptions, run_recommend
from tapps_lsp.server.cli.run import RunOptions, list_workflows, run_workflow


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
    _report_flags(check, "text (streamed, the default)")
    check.add_argument(
        "--stats", action="store_true", help="print cache hits/misses and timings to stderr"
    )
    add_limit_flags(check)
    _tool_flags(check)
    _baseline_flags(check)
    check.add_argument(
        "--since",
        metavar="REV",
        help="only the files changed since a git revision, and only their findings on "
        "changed lines (all of a new file's)",
    )
    _run_parser(commands)
    runs = commands.add_parser("runs", help="list the project's recent workflow runs")
    runs.add_argument("--project", type=Path, help="the project (default: the current folder's)")
    runs.add_argument("--format", dest="output_format", choices=("text", "json"), default="text")
    runs.add_argument("--limit", type=int, default=20, help="at most this many (default: 20)")
    runs.add_argument(
        "--trust",
        action="store_true",
        help="the log of runs made with --trust (or by a server "
        "that trusts the project), which is kept in the project's own cache folder",
    )
    recommend = commands.add_parser(
        "recommend", help="which workflow preset a change deserves, and why"
    )
    recommend.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    recommend.add_argument("--since", metavar="REV", help="what changed since a git revision")
    recommend.add_argument("--project", type=Path, help="the project (default: the current one)")
    recommend.add_argument(
        "--format", dest="output_format", choices=("text", "json"), default="text"
    )
    recommend.add_argument("--trust", action="store_true", help="as for check")
    mcp = commands.add_parser(
        "mcp", help="serve the Model Context Protocol over stdio, for coding agents"
    )
    mcp.add_argument("--project", type=Path, help="the project (default: the current folder)")
    _tool_flags(mcp)
    return parser


def _baseline_flags(check: argparse.ArgumentParser) -> None:
    chosen = check.add_mutually_exclusive_group()
    chosen.add_argument(
        "--write-baseline",
        action="store_true",
        help="record the current findings of PATH... in the project's .tapps/baseline.json "
        "(other files' entries are kept)",
    )
    chosen.add_argument(
        "--prune-baseline",
        action="store_true",
        help="remove the baseline's entries for PATH... that no finding matches any more",
    )
    chosen.add_argument(
        "--no-baseline", action="store_true", help="report every finding, baselined or not"
    )


_RUN_EPILOG = """exit codes: 0 when the run went through clean; 1 when a finding is at or
above --fail-on or a step failed or was cancelled (stderr says which; a skipped step does
not fail the run); 2 for a usage error, an unknown or invalid workflow, or a run that
cannot resume; 130 when Ctrl-C cancelled the run (what was done is still printed, and the
run is logged cancelled)."""


def _run_parser(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run a review workflow (a preset or one of pyproject.toml's)",
        description="Run a review workflow: minimal, standard, comprehensive, full, or one "
        "declared in [tool.tapps.workflows.NAME] in pyproject.toml.",
        epilog=_RUN_EPILOG,
    )
    run.add_argument("workflow", nargs="?", metavar="WORKFLOW")
    run.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    run.add_argument("--resume", metavar="RUN_ID", help="go on with a paused or interrupted run")
    run.add_argument("--list", action="store_true", help="list the workflows and their steps")
    run.add_argument(
        "--project",
        type=Path,
        help="the project (default: the first PATH's, else the current folder's)",
    )
    _report_flags(run, "text (the default)")
    add_limit_flags(run)
    _tool_flags(run)


def _report_flags(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument(
        "--format",
        dest="output_format",
        choices=FORMATS,
        default="text",
        help=f"{text}, json, markdown, html or sarif (SARIF 2.1.0)",
    )
    parser.add_argument(
        "--fail-on",
        choices=(*FAIL_ON, "none"),
        default="error",
        help="exit 1 when a finding is at least this severe (default: error)",
    )


def _tool_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, default=None, help="files reviewed at once")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument(
        "--trust",
        action="store_true",
        help="let the checked projects choose programs: [tool.tapps] tool paths and "
        "interpreter, their .venv, mypy plugins (off by default: a checkout is untrusted)",
    )
    parser.add_argument("--interpreter", help="the project's Python (mypy resolves imports there)")
    parser.add_argument("--ruff-path", help="the ruff executable to run")
    parser.add_argument("--mypy-path", help="the mypy executable to run")


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


def _run(args: argparse.Namespace) -> int:
    """`run WORKFLOW [PATH...]`, `run --resume RUN_ID` or `run --list`: exactly one."""
    chosen = [args.workflow is not None, args.resume is not None, args.list]
    if sum(chosen) != 1 or (args.paths and args.workflow is None):
        sys.stderr.write("tapps-lsp run: give a WORKFLOW [PATH...], --resume RUN_ID or --list\n")
        return EXIT_ERROR
    problem = limit_problem(args.output_format, args.max_tokens)
    if problem is not None:
        sys.stderr.write(f"tapps-lsp run: {problem}\n")
        return EXIT_ERROR
    options = RunOptions(
        workflow=args.workflow,
        paths=args.paths,
        resume=args.resume,
        project=args.project,
        output_format=args.output_format,
        fail_on=args.fail_on,
        concurrency=args.jobs,
        no_cache=args.no_cache,
        trust=args.trust,
        programs=_programs(args),
        min_severity=args.min_severity,
        max_tokens=args.max_tokens,
    )
    if args.list:
        return list_workflows(options)
    return run_workflow(options)


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true", help="accepted and ignored (the default)")
    parser.add_argument("--tcp", action="store_true", help="serve over TCP, for debugging")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2087)
    parser.add_argument("--log-level", default="INFO")


def _check(args: argparse.Namespace) -> int:
    problem = limit_problem(args.output_format, args.max_tokens)
    if args.since is not None and (args.write_baseline or args.prune_baseline):
        problem = "--since reviews part of the project: it cannot write or prune a baseline"
    if problem is not None:
        sys.stderr.write(f"tapps-lsp check: {problem}\n")
        return EXIT_ERROR
    options = CheckOptions(
        paths=args.paths,
        output_format=args.output_format,
        fail_on=args.fail_on,
        no_cache=args.no_cache,
        stats=args.stats,
        trust=args.trust,
        programs=_programs(args),
        baseline=BaselineFlags(args.write_baseline, args.prune_baseline, args.no_baseline),
        min_severity=args.min_severity,
        max_tokens=args.max_tokens,
        since=args.since,
    )
    if args.jobs:
        options.concurrency = args.jobs
    return run_check(options)


def _recommend(args: argparse.Namespace) -> int:
    return run_recommend(
        RecommendOptions(args.paths, args.since, args.project, args.output_format, args.trust)
    )


def _mcp(args: argparse.Namespace) -> int:
    return serve_mcp_command(McpOptions(args.project, args.no_cache, args.trust, _programs(args)))


def _runs(args: argparse.Namespace) -> int:
    return list_runs(RunsOptions(args.project, args.output_format, args.limit, args.trust))


# Every command but `serve`, which speaks LSP.
_HEADLESS: dict[str, Callable[[argparse.Namespace], int]] = {
    "check": _check,
    "run": _run,
    "runs": _runs,
    "recommend": _recommend,
    "mcp": _mcp,
}


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help")):
        args_list.insert(0, "serve")
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return EXIT_ERROR if exc.code not in (0, None) else 0
    headless = _HEADLESS.get(args.command)
    if headless is not None:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        return headless(args)
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
