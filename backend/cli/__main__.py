"""`python -m backend.cli` runs the `sitslab` command (the server starts its worker so)."""

from backend.cli import app

if __name__ == "__main__":
    app()
