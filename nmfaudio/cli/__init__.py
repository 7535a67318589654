"""Command-line interface: a thin layer that parses arguments and calls the API.

``main(argv=None) -> int`` never raises for user errors: it prints one line on
stderr and returns 2 for usage errors, 1 for failures (``--debug`` shows the
traceback). Each subcommand lives in its own module exposing
``add_parser(subparsers)``; the parser's ``func`` default runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import warnings

from ..exceptions import NmfAudioError, UsageError

__all__ = ["main", "get_parser"]

PROG = "nmfaudio"


class _UsageError(Exception):
    pass


class _Terminated(BaseException):
    """SIGTERM turned into an exception, so that pending writes clean up their temp files."""


def _on_sigterm(signum, frame):
    raise _Terminated(signum)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that reports usage errors as one line instead of exiting."""

    #: extra words for a usage error containing a key (set per subcommand)
    hints: dict = {}

    def error(self, message):
        hint = next((h for k, h in self.hints.items() if k in message), None)
        if hint:
            message = f"{message}; {hint}"
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _command_modules():
    from . import batch, denoise, evaluate, plot, separate, train
    from . import drums, live, models, serve

    return [separate, train, denoise, evaluate, plot, batch, drums, models, live, serve]


def get_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``nmfaudio`` command."""
    from .. import __version__

    parser = _Parser(prog=PROG, description="Sound source separation with non-negative matrix factorisation.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _command_modules():
        module.add_parser(sub)
    for command in sub.choices.values():  # --debug is accepted after the subcommand too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on errors")
    return parser


@contextlib.contextmanager
def _warnings_as_lines(quiet):
    """Python warnings as one ``nmfaudio: warning: ...`` line each; none at all with ``--quiet``."""
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        else:
            def show(message, category, filename, lineno, file=None, line=None):
                text = str(message).splitlines()[0] if str(message) else category.__name__
                print(f"{PROG}: warning: {text}", file=sys.stderr if file is None else file)

            warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage error)."""
    parser = get_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    if not getattr(args, "command", None):
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        print(f"{PROG}: error: a command is required: one of {', '.join(commands)} "
              f"(see '{PROG} --help')", file=sys.stderr)
        return 2
    quiet = bool(getattr(args, "quiet", False))
    logging.basicConfig(level=logging.ERROR if quiet else logging.WARNING, format=f"{PROG}: %(message)s")
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from ._common import check_output_args
        from ._progress import COMPILING_COMMANDS, CompileNotice, show_progress

        check_output_args(args)
        notice = CompileNotice(enabled=args.command in COMPILING_COMMANDS and show_progress(args))
        with _warnings_as_lines(quiet), notice:
            return int(args.func(args) or 0)
    except _Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except UsageError as exc:  # options that cannot work together (or that the mode ignores)
        if args.debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except NmfAudioError as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # unexpected: still one line unless --debug
        if args.debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        print(f"{PROG}: error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
