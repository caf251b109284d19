"""sitslab's web backend: FastAPI app, database, services and the command-line tool."""
