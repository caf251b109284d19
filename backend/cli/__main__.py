"""`python -m backend.cli` runs the `sitslab` command (the server starts its worker so)."""

from backend.cli import main

if __name__ == "__main__":
    main()
