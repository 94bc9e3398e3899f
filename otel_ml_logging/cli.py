"""The ``otel-ml-logging`` command: ``run`` a server with its output captured, ``check`` a rest config.

::

    otel-ml-logging --version
    otel-ml-logging run [--max-lines N] [--max-bytes N] [--shutdown-timeout S] [--no-echo] -- gunicorn app:app
    otel-ml-logging check rest_config.yaml
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from otel_ml_logging.version import __version__

EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (also used for ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="otel-ml-logging",
        description="OpenTelemetry for ML model services: capture a server's output, check a rest config.",
    )
    parser.add_argument("--version", action="version", version=f"otel-ml-logging {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run a command with its stdout/stderr forwarded as OpenTelemetry log records",
        description=(
            "Run COMMAND with its stdout and stderr (and its children's) captured line by line and sent as "
            "OpenTelemetry log records, still echoed to this process's stdout/stderr. The command is never "
            "slowed: when the buffer is full, lines are dropped and counted. Signals are passed on; the exit "
            "code is the command's (128+N when signal N ended it). Configured by OTEL_SERVICE_NAME, "
            "OTEL_RESOURCE_ATTRIBUTES, OTEL_LOGS_EXPORTER and OTEL_EXPORTER_OTLP_*."
        ),
    )
    run.add_argument("--max-lines", type=int, default=None, help="lines the buffer holds (default 1000000)")
    run.add_argument("--max-bytes", type=int, default=None, help="bytes the buffer holds (default 256 MiB)")
    run.add_argument(
        "--shutdown-timeout",
        type=float,
        default=None,
        help="seconds to send what is left after the command exits (default 10)",
    )
    run.add_argument("--no-echo", action="store_true", help="do not copy the output to this process's stdout/stderr")
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND ...", help="the command to run")
    check = commands.add_parser(
        "check",
        help="load the models of a rest-model-service config and validate every decorator's options",
        description=(
            "Build every model of REST_CONFIG with its decorators, as the service does (modules are imported "
            "from the installed packages and the current directory); exit 1 on a problem."
        ),
    )
    check.add_argument("rest_config", metavar="REST_CONFIG", help="rest-model-service YAML file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "run":
        return _run(parser, arguments)
    if arguments.command == "check":
        return _check(arguments.rest_config)
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _run(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> int:
    from otel_ml_logging.capture import CaptureConfigurationError, CaptureSettings, run_captured

    command = list(arguments.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser.error("run: give the command to run after '--'")
    try:
        settings = CaptureSettings.resolve(
            max_lines=arguments.max_lines,
            max_bytes=arguments.max_bytes,
            shutdown_timeout=arguments.shutdown_timeout,
            echo=not arguments.no_echo,
        )
        return run_captured(command, settings)
    except CaptureConfigurationError as error:
        print(f"otel-ml-logging run: {error}", file=sys.stderr)
        return EXIT_USAGE


def _check(path: str) -> int:
    from otel_ml_logging.serving.custom_attributes import CustomAttributesConfig
    from otel_ml_logging.serving.rest_config import RestConfigError, build_models, choose_model, read_rest_config

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # model packages in the current directory import, as under uvicorn
    try:
        document = read_rest_config(path)
        try:
            CustomAttributesConfig.from_mapping(document.get("custom_attributes"))
        except ValueError as error:
            raise RestConfigError(str(error)) from None
        models = build_models(document)
        if "sagemaker" in document:
            chosen = choose_model(models, document.get("sagemaker") or {}, "sagemaker")
            print(f"{path}: /invocations served by {chosen.qualified_name}")
    except RestConfigError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    for built in models:
        decorators = ", ".join(built.decorators) or "no decorators"
        print(f"{path}: {built.location} {built.qualified_name} ({built.class_path}): ok ({decorators})")
    print(f"{path}: {len(models)} model(s) ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
