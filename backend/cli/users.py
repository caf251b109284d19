"""`sitslab users add|list`."""

from __future__ import annotations

import typer
from sqlalchemy import select

from backend.db import get_sessionmaker
from backend.errors import DomainError
from backend.models import Role, User
from backend.services.users import create_user

app = typer.Typer(help="Manage logins.", no_args_is_help=True)


@app.command()
def add(
    name: str = typer.Argument(..., help="User name."),
    role: Role = typer.Option(Role.annotator, help="annotator, reviewer or admin."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
    ),
) -> None:
    """Add a user; without --password, asks for it twice (hidden, so a typo shows)."""
    with get_sessionmaker()() as session:
        try:
            user = create_user(session=session, username=name, role=role.value, password=password)
        except DomainError as exc:
            typer.echo(f"Error: {exc.message}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(f"Added {user.username} ({user.role}).")


@app.command("list")
def list_users() -> None:
    """List users and their roles."""
    with get_sessionmaker()() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            typer.echo(f"{user.id:>4}  {user.username:<20} {user.role}")
