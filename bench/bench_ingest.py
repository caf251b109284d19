"""Ingest throughput: patches per second for N synthetic 64x64x30-date patches.

Usage: python bench/bench_ingest.py [--patches 1000] [--database-url URL]
Prints one table; generation time is reported apart from ingest time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patches", type=int, default=1000)
    parser.add_argument("--dates", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SITSLAB_DATA_DIR"] = str(Path(tmp) / "data")
        if args.database_url:
            os.environ["SITSLAB_DATABASE_URL"] = args.database_url
        from backend.config import get_settings
        from backend.db import get_sessionmaker
        from backend.services import migrations
        from backend.services.ingest import ingest
        from backend.services.nomenclatures import seed_builtins
        from ml.data import synthetic

        settings = get_settings()
        settings.data_dir.mkdir(parents=True)
        migrations.upgrade(settings.resolved_database_url)
        source = Path(tmp) / "source"
        start = time.perf_counter()
        synthetic.generate(source, n_patches=args.patches, n_dates=args.dates, seed=1)
        generated = time.perf_counter() - start
        with get_sessionmaker()() as session:
            seed_builtins(session=session)
            start = time.perf_counter()
            report = ingest(session=session, path=source, format="geotiff", name="bench")
            ingested = time.perf_counter() - start
            start = time.perf_counter()
            again = ingest(session=session, path=source, format="geotiff", name="bench")
            reingested = time.perf_counter() - start
        database = settings.resolved_database_url.split(":", 1)[0]
        header = (
            "patches",
            "dates",
            "database",
            "generate s",
            "ingest s",
            "patches/s",
            "re-ingest s",
        )
        print("| " + " | ".join(header) + " |")
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {report.added} | {args.dates} | {database} | {generated:.1f} | {ingested:.1f} | "
            f"{report.added / ingested:.1f} | {reingested:.1f} ({again.added} added) |"
        )


if __name__ == "__main__":
    main()
