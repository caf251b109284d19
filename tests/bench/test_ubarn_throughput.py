"""bench/bench_ubarn_throughput.py: every network setting fine-tuning takes is a flag."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "bench_ubarn_throughput", ROOT / "bench" / "bench_ubarn_throughput.py"
)
bench_ubarn_throughput = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_ubarn_throughput)


@pytest.mark.parametrize(
    ("flags", "network"),
    [
        ([], "batch, clear dates "),
        (
            ["--encoder-norm", "group", "--every-date", "--pixel-skip"],
            "group, every date, pixel skip",
        ),
    ],
)
def test_the_row_names_the_network_it_timed(
    flags: list[str], network: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    argv = ["bench_ubarn_throughput.py", "--presets", "tiny", "--repeats", "1", "--dates", "3"]
    monkeypatch.setattr(sys, "argv", argv + flags)
    bench_ubarn_throughput.main()
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.startswith(f"tiny   {network}")
