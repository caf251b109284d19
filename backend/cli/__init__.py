"""The `sitslab` command-line tool; each module adds one group of commands."""

from __future__ import annotations

import typer

from backend.cli import core, data, export, jobs, users
from backend.config import SettingsError

app = typer.Typer(
    help="sitslab: validate Sentinel-2 label patches, train U-BARN and the OSO Random Forest, "
    "compare their maps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
core.register(app)
data.register(app)
export.register(app)
jobs.register(app)
app.add_typer(users.app, name="users")


def main() -> None:
    """The `sitslab` command: a SITSLAB_* variable that cannot be read stops it with exit
    status 2 and the variable's name, not a traceback."""
    try:
        app()
    except SettingsError as error:
        typer.echo(f"sitslab: {error}", err=True)
        raise SystemExit(2) from None
