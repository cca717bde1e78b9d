"""How the CLI fails: one ``error: ...`` line on stderr and exit status 1, for the store's errors and
for typer's usage errors alike (typer would print a box and exit 2)."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import typer

from swarmstore.errors import SwarmstoreError

try:  # typer >= 0.2x carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # type: ignore[no-redef, import-not-found, assignment, unused-ignore]


def fail(message: str) -> NoReturn:
    """Print ``message`` as one error line and exit 1."""
    print("error: " + " ".join(message.split()), file=sys.stderr)
    sys.exit(1)


def run_app(app: typer.Typer, args: list[str] | None = None) -> None:
    try:
        rc: Any = app(args=args, prog_name="swarmstore", standalone_mode=False)
    except NoArgsIsHelpError:
        sys.exit(0)  # (the help is printed: a command group given no command shows its help)
    except UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        fail(exc.format_message() + hint)
    except ClickException as exc:
        fail(exc.format_message())
    except typer.Abort:
        fail("aborted")
    except SwarmstoreError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(str(exc))
    if isinstance(rc, int) and rc:
        sys.exit(rc)
