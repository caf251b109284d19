# One image for the web app and the GPU worker (docker-compose.yml picks the command).
# Front-end libraries come from npm at build time: the app needs no internet to run.
FROM node:22-slim AS vendor
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend ./frontend
RUN node frontend/build.mjs

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 SITSLAB_DATA_DIR=/data
WORKDIR /app
# torch from PyPI bundles the CUDA runtime; the host only needs the NVIDIA driver.
RUN pip install torch==2.13.0
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY backend ./backend
COPY ml ./ml
COPY frontend ./frontend
COPY --from=vendor /src/frontend/static/vendor ./frontend/static/vendor
RUN pip install -e .
VOLUME /data
EXPOSE 8000
CMD ["sitslab", "serve", "--host", "0.0.0.0", "--port", "8000"]
