"""bench/bench_ubarn_throughput.py: every network setting fine-tuning takes is a flag."""

from __future__ import annotations

import sys

import pytest

from tests.bench_scripts import load_bench_script

bench_ubarn_throughput = load_bench_script("bench_ubarn_throughput")


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
