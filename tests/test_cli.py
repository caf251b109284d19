"""The `sitslab` command line: help everywhere, users, ingest with clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backend.cli import app

runner = CliRunner()


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    paths = [[]]
    for name, command in group.commands.items():
        paths.append([name])
        for sub in getattr(command, "commands", {}):
            paths.append([name, sub])
    return paths


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_required_commands_exist() -> None:
    names = {p[0] for p in _commands() if p}
    assert {"init", "serve", "worker", "synth", "ingest", "users", "export"} <= names


def test_users_add_refuses_a_short_password(database: str) -> None:
    ok = runner.invoke(
        app, ["users", "add", "ann", "--role", "reviewer", "--password", "long-enough"]
    )
    assert ok.exit_code == 0 and "Added ann (reviewer)" in ok.output
    short = runner.invoke(app, ["users", "add", "bob", "--password", "short"])
    assert short.exit_code == 2 and "at least 8" in short.output
    listing = runner.invoke(app, ["users", "list"])
    assert "ann" in listing.output and "bob" not in listing.output


def test_users_add_asks_for_the_password_twice(database: str) -> None:
    mistyped = runner.invoke(app, ["users", "add", "cat"], input="long-enough\nlong-enuogh\n")
    assert mistyped.exit_code != 0 and "do not match" in mistyped.output
    assert "cat" not in runner.invoke(app, ["users", "list"]).output
    typed = runner.invoke(app, ["users", "add", "cat"], input="long-enough\nlong-enough\n")
    assert typed.exit_code == 0 and "Added cat (annotator)" in typed.output


def test_strict_ingest_of_a_bad_dataset_exits_2_with_reasons(
    database: str, synthetic_source: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "bad"
    shutil.copytree(synthetic_source, copy)
    next((copy / "images").glob("*.tif")).write_bytes(b"garbage")
    result = runner.invoke(app, ["ingest", str(copy), "--strict"])
    assert result.exit_code == 2
    assert "Strict ingest refused" in result.output and "p000" in result.output


def test_synth_then_ingest(database: str, tmp_path: Path) -> None:
    out = tmp_path / "synth"
    result = runner.invoke(
        app, ["synth", str(out), "--patches", "4", "--patch-size", "32", "--dates", "5"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists()
    ingested = runner.invoke(app, ["ingest", str(out), "--format", "geotiff"])
    assert ingested.exit_code == 0, ingested.output
    assert '"added": 4' in ingested.output


def test_synth_with_missed_clouds_records_them_and_refuses_too_many(tmp_path: Path) -> None:
    args = ["synth", "--patches", "4", "--patch-size", "32", "--dates", "5", "--missed-clouds"]
    result = runner.invoke(app, [args[0], str(tmp_path / "a"), *args[1:], "0.2"])
    assert result.exit_code == 0, result.output
    generator = json.loads((tmp_path / "a" / "manifest.json").read_text())["generator"]
    assert generator["missed_clouds"] == 0.2
    refused = runner.invoke(app, [args[0], str(tmp_path / "b"), *args[1:], "0.7"])
    assert refused.exit_code == 2 and "missed-clouds" in refused.output
    assert not (tmp_path / "b").exists()


def test_synth_with_urban_mosaic_records_it(tmp_path: Path) -> None:
    args = ["--patches", "4", "--patch-size", "32", "--dates", "5", "--urban-mosaic"]
    result = runner.invoke(app, ["synth", str(tmp_path / "a"), *args])
    assert result.exit_code == 0, result.output
    generator = json.loads((tmp_path / "a" / "manifest.json").read_text())["generator"]
    assert generator["urban_mosaic"] is True


def _synth_with(tmp_path: Path, option: str, value: str, out_of_range: str) -> tuple[dict, str]:
    """Run `synth` with ``option`` at ``value`` (it must succeed) and at ``out_of_range`` (it
    must be refused with usage exit 2, writing nothing): the first's manifest, the second's
    output."""
    args = ["--patches", "4", "--patch-size", "16", "--dates", "5", option]
    result = runner.invoke(app, ["synth", str(tmp_path / "a"), *args, value])
    assert result.exit_code == 0, result.output
    refused = runner.invoke(app, ["synth", str(tmp_path / "b"), *args, out_of_range])
    assert refused.exit_code == 2
    assert not (tmp_path / "b").exists()
    return json.loads((tmp_path / "a" / "manifest.json").read_text()), refused.output


def test_synth_with_two_orbits_gives_patches_their_own_dates_and_refuses_five(
    tmp_path: Path,
) -> None:
    manifest, refusal = _synth_with(tmp_path, "--orbits", "2", "5")
    assert manifest["generator"]["orbits"] == 2 and "dates" not in manifest
    assert [p["orbits"] for p in manifest["patches"]] == [[0], [1], [0], [1]]
    assert "orbits" in refusal


def test_synth_with_a_phenology_shift_records_it_and_refuses_more_than_a_month(
    tmp_path: Path,
) -> None:
    manifest, refusal = _synth_with(tmp_path, "--phenology-shift", "12.5", "31")
    assert manifest["generator"]["phenology_shift"] == 12.5
    assert "phenology-shift" in refusal


def test_synth_with_a_stale_register_records_it_and_refuses_more_than_the_scene(
    tmp_path: Path,
) -> None:
    manifest, refusal = _synth_with(tmp_path, "--stale-register", "0.25", "1.5")
    assert manifest["generator"]["stale_register"] == 0.25
    assert "stale-register" in refusal
