"""Runs API and pages: results, plots by run id only, comparison with McNemar's test."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from backend import db
from backend.config import get_settings
from backend.models import Run
from ml.metrics import evaluation_report, mcnemar
from ml.models.ubarn import MODEL_SIZES
from ml.plots import plot_f1_bars
from tests.conftest import login

LABELS = [1, 2, 3]


def _make_run(
    name: str, y_true: np.ndarray, y_pred: np.ndarray, *, plot: bool = False, **metrics: object
) -> int:
    report = evaluation_report(y_true, y_pred, LABELS, names={1: "wheat", 2: "maize", 3: "forest"})
    report.update(metrics)
    with db.get_sessionmaker()() as session:
        run = Run(
            kind="train_rf", name=name, params={"seed": 0}, metrics=report, out_dir=f"runs/{name}"
        )
        session.add(run)
        session.commit()
    out = get_settings().path(f"runs/{name}")
    out.mkdir(parents=True)
    np.savez_compressed(out / "predictions.npz", y_true=y_true, y_pred=y_pred)
    if plot:
        plot_f1_bars({name: report}, out / "f1.png")
    return run.id


@pytest.fixture
def runs(client: TestClient, make_user) -> tuple[TestClient, int, int, np.ndarray]:  # noqa: ANN001
    make_user("ann", "annotator")
    login(client, "ann")
    rng = np.random.default_rng(0)
    y_true = rng.integers(1, 4, 500)
    good = np.where(rng.random(500) < 0.9, y_true, rng.integers(1, 4, 500))
    poor = np.where(rng.random(500) < 0.6, y_true, rng.integers(1, 4, 500))
    a = _make_run("rf", y_true, poor, plot=True)
    b = _make_run("ubarn", y_true, good)
    return client, a, b, np.stack([y_true, poor, good])


def test_run_detail_and_plots(runs) -> None:  # noqa: ANN001
    client, a, _b, _ = runs
    detail = client.get(f"/api/v1/runs/{a}").json()
    assert detail["metrics"]["confusion"] and detail["metrics"]["per_class"]["2"]["name"] == "maize"
    assert detail["artefacts"] == [f"/api/v1/runs/{a}/artefacts/f1.png"]
    png = client.get(detail["artefacts"][0])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    for name in ["predictions.npz", "..%2F..%2Fsitslab.db", "missing.png"]:
        assert client.get(f"/api/v1/runs/{a}/artefacts/{name}").status_code == 404
    assert client.get("/api/v1/runs/999").status_code == 404
    assert [r["id"] for r in client.get("/api/v1/runs").json()] == [runs[2], a]


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [
        ({"encoder_norm": "batch", "mask_clouds": True}, "BatchNorm · clear dates only"),
        ({}, "GroupNorm (the paper's) · every date"),  # made before the two settings existed
    ],
)
def test_a_ubarn_run_says_which_network_it_built(runs, recorded: dict, shown: str) -> None:  # noqa: ANN001
    """Its parameters may leave the network to the preset; its run.json says what it was."""
    client, rf, ubarn, _ = runs
    network = MODEL_SIZES["tiny"].to_dict()
    for key in ("encoder_norm", "mask_clouds"):
        del network[key]
    run_file = get_settings().path("runs/ubarn/run.json")
    built = {"kind": "ubarn", "stage": "finetune", "config": {"model": "tiny"}}
    run_file.write_text(json.dumps(built | {"network": network | recorded}))
    detail = client.get(f"/api/v1/runs/{ubarn}").json()
    assert detail["network"]["model"] == "tiny"
    assert f"U-BARN tiny · {shown}" in html.unescape(client.get(f"/runs/{ubarn}").text)
    assert client.get(f"/api/v1/runs/{rf}").json()["network"] is None  # no run.json
    get_settings().path("runs/rf/run.json").write_text(json.dumps({"kind": "rf"}))  # a forest's
    assert client.get(f"/api/v1/runs/{rf}").json()["network"] is None
    assert 'id="network"' not in client.get(f"/runs/{rf}").text


def test_compare_gives_deltas_and_mcnemar(runs) -> None:  # noqa: ANN001
    client, a, b, (y_true, poor, good) = runs
    cmp = client.get("/api/v1/runs/compare", params={"a": a, "b": b}).json()
    oa = next(row for row in cmp["metrics"] if row["metric"] == "oa")
    assert oa["delta"] == pytest.approx(oa["b"] - oa["a"]) and oa["delta"] > 0.1
    expected = mcnemar(y_true, poor, good)
    assert cmp["mcnemar"]["available"] and cmp["mcnemar"]["p_value"] == pytest.approx(
        expected["p_value"]
    )
    assert cmp["mcnemar"]["p_value"] < 0.001
    assert [c["code"] for c in cmp["per_class_f1"]] == LABELS
    assert client.get("/api/v1/runs/compare", params={"a": a, "b": 999}).status_code == 404


def test_mcnemar_needs_the_same_test_pixels(runs) -> None:  # noqa: ANN001
    client, a, _b, _ = runs
    other = _make_run("elsewhere", np.array([1, 2, 3, 1]), np.array([1, 2, 2, 1]))
    cmp = client.get("/api/v1/runs/compare", params={"a": a, "b": other}).json()
    assert cmp["mcnemar"] == {
        "available": False,
        "reason": "the runs were not tested on the same pixels",
    }


def test_results_and_comparison_pages(runs) -> None:  # noqa: ANN001
    client, a, b, _ = runs
    page = client.get(f"/runs/{a}")
    assert page.status_code == 200 and 'id="confusion"' in page.text and "maize" in page.text
    assert 'id="compare-metrics"' in client.get(f"/runs/compare?a={a}&b={b}").text
    listing = client.get("/runs").text
    assert "ubarn" in listing and 'action="/runs/compare"' in listing


@pytest.mark.parametrize(
    ("trained_on", "count", "listed"),
    [
        (["p0003", "p0007", "p0012"], "3 patches", "p0003, p0007, p0012"),  # forest, fine-tuning
        (1320, "1320 patches", None),  # a pre-training counts its corpus's images too
    ],
)
def test_run_page_counts_its_training_images(runs, trained_on, count, listed) -> None:  # noqa: ANN001
    """A run that lists its training patches shows how many, the list folded away."""
    client, _a, _b, (y_true, _poor, good) = runs
    run = _make_run("listed", y_true, good, train_patches=trained_on)
    cell = client.get(f"/runs/{run}").text.split('id="train-patches">')[1].split("</td>")[0]
    assert cell.startswith(count)
    assert ("<details>" in cell) == (listed is not None) and "[" not in cell
    assert listed is None or listed in cell


def test_comparison_page_bounds_a_p_value_that_underflows(runs) -> None:  # noqa: ANN001
    client, a, b, _ = runs
    y_true = np.ones(5000, dtype=np.int64)
    right = _make_run("right", y_true, y_true)
    wrong = _make_run("wrong", y_true, np.full(5000, 2))
    assert client.get(f"/runs/compare?a={a}&b={b}").text.count("p = <b>") == 1
    page = client.get(f"/runs/compare?a={right}&b={wrong}").text
    assert "p <b>&lt; 1e-300</b>" in page and "p = <b>0</b>" not in page


@pytest.mark.parametrize(
    ("adjustment", "shown"),
    [
        (
            {"tau": 0.5, "val_mF1_unadjusted": 0.61, "val_mF1_by_tau": {"0.0": 0.6, "0.5": 0.7}},
            "τ = 0.5 (validation mean F1 0.610 without, 0.700 with)",
        ),
        (
            {"tau": None, "val_mF1_unadjusted": 0.61, "val_mF1_by_tau": {"0.0": 0.6}},
            "τ = none (validation mean F1 0.610; no strength did better)",
        ),
        # a run from before the unadjusted score was saved: its tau 0 was the unadjusted one
        (
            {"tau": 1.0, "val_mF1_by_tau": {"0.0": 0.6, "1.0": 0.7}},
            "τ = 1.0 (validation mean F1 0.600 without, 0.700 with)",
        ),
    ],
)
def test_run_page_says_what_the_logit_adjustment_did(runs, adjustment, shown) -> None:  # noqa: ANN001
    client, *_ = runs
    y_true = np.array([1, 2, 3])
    run = _make_run("adjusted", y_true, y_true, logit_adjustment=adjustment)
    page = client.get(f"/runs/{run}")
    assert page.status_code == 200 and f'id="logit-adjustment">{shown}</td>' in page.text
