"""In a real browser: launch a tiny U-BARN run from the form, watch it finish, compare with RF."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from backend import db
from backend.config import get_settings
from backend.models import Patch
from backend.worker.local import LocalBackend
from backend.worker.supervisor import Supervisor
from tests.conftest import browser_login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def worker(live_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One embedded worker (a supervisor thread with spawned job processes)."""
    monkeypatch.setenv("SITSLAB_WORKER_POLL_S", "0.2")
    monkeypatch.setenv("SITSLAB_HEARTBEAT_S", "0.5")
    get_settings.cache_clear()
    stop = threading.Event()
    supervisor = Supervisor(engine=db.get_engine(), settings=get_settings(), backend=LocalBackend())
    thread = threading.Thread(
        target=supervisor.run, kwargs={"should_exit": stop.is_set}, daemon=True
    )
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def _launch(page, kind: str, dataset: str, **fields: str) -> None:  # noqa: ANN001
    page.goto("/jobs")
    page.select_option("select[name=kind]", kind)
    page.select_option("select[name=dataset_id]", label=dataset)
    page.check("input[name=include_unreviewed]")
    for name, value in fields.items():
        page.fill(f"input[name={name}]", value)
    page.select_option("select[name=device]", "cpu")
    page.click("#launch-form button[type=submit]")


WATCH_BAR = """() => {
  window.widths = [document.getElementById('job-bar').style.width];
  new MutationObserver(() => window.widths.push(document.getElementById('job-bar').style.width))
    .observe(document.getElementById('job-bar'), {attributes: true});
}"""


def _wait_done(page) -> None:  # noqa: ANN001
    """Wait on the job page until the job succeeded; the bar must have moved to 100 %."""
    page.wait_for_url("**/jobs/*")
    page.evaluate(WATCH_BAR)
    page.wait_for_function(
        "document.getElementById('job').dataset.state === 'succeeded'", timeout=240_000
    )
    widths = page.evaluate("window.widths")
    assert widths[-1] == "100%" and len(set(widths)) >= 2, widths


def test_train_from_the_form_then_compare_with_rf(
    page, make_user, ingested_dataset, worker
) -> None:  # noqa: ANN001
    make_user("rev", "reviewer")
    browser_login(page, "rev")

    _launch(page, "finetune", "tiny", epochs="0")
    error = page.locator('.field-error[data-for="epochs"]')
    error.wait_for()
    assert "greater than or equal to 1" in error.inner_text()
    assert page.url.endswith("/jobs")

    page.fill("input[name=epochs]", "1")
    page.fill("input[name=crop_balance]", "2")
    page.click("#launch-form button[type=submit]")
    error = page.locator('.field-error[data-for="crop_balance"]')
    error.wait_for()
    assert "less than or equal to 1" in error.inner_text()
    assert page.url.endswith("/jobs")

    page.fill("input[name=crop_balance]", "1")  # crops around rare classes
    page.fill("input[name=head_warmup_epochs]", "2")  # no pre-trained encoder to keep frozen
    page.click("#launch-form button[type=submit]")
    error = page.locator('.field-error[data-for="head_warmup_epochs"]')
    error.wait_for()
    assert "fine-tuned regime only" in error.inner_text()
    page.fill("input[name=head_warmup_epochs]", "0")
    page.fill("input[name=head_lr]", "0.01")
    page.fill("input[name=ema_decay]", "0.9")  # keep an average of the weights
    # the paper's network rather than the tiny preset's clear dates and BatchNorm
    page.select_option("select[name=mask_clouds]", "false")
    page.select_option("select[name=encoder_norm]", "group")
    page.click("#launch-form button[type=submit]")
    _wait_done(page)
    params = page.locator("details pre").first.text_content()
    assert '"head_lr": 0.01' in params and '"logit_adjustment": true' in params
    assert '"mask_clouds": false' in params and '"encoder_norm": "group"' in params
    assert '"ema_decay": 0.9' in params
    assert page.locator("#log").inner_text().strip()
    page.locator(".chart[data-metric]").first.wait_for()
    page.click("a.run-link")
    page.wait_for_url("**/runs/*")
    ubarn_run = page.url.rsplit("/", 1)[1]
    assert page.locator("#run-metrics [data-metric=oa]").inner_text() != "–"
    # the network as built, from the form's choices above
    assert "GroupNorm (the paper's) · every date" in page.locator("#network").inner_text()
    assert page.locator("#confusion").is_visible()
    assert page.locator("#logit-adjustment").inner_text().startswith("τ = ")  # on by default

    _launch(page, "train_rf", "tiny")
    _wait_done(page)
    rf_run = page.locator("a.run-link").first.get_attribute("href").rsplit("/", 1)[1]

    page.goto("/runs")
    page.select_option("select[name=a]", rf_run)
    page.select_option("select[name=b]", ubarn_run)
    page.click(".compare-form button[type=submit]")
    page.wait_for_url("**/runs/compare*")
    assert page.locator("#compare-metrics tr").count() == 5
    assert "McNemar" in page.locator("#mcnemar").inner_text()


def test_pre_train_on_another_scenes_images_from_the_form(
    page, make_user, ingested_dataset, other_scene, worker
) -> None:  # noqa: ANN001
    make_user("rev", "reviewer")
    browser_login(page, "rev")
    page.goto("/jobs")
    corpus = page.locator("select[name=corpus_dataset_ids]")
    page.select_option("select[name=kind]", "finetune")
    assert not corpus.is_visible()  # fine-tuning reads labels: no corpus
    page.select_option("select[name=kind]", "pretrain")
    page.select_option("select[name=dataset_id]", label="tiny")
    page.check("input[name=include_unreviewed]")
    page.fill("input[name=epochs]", "1")
    page.select_option("select[name=device]", "cpu")
    corpus.select_option(label=["tiny", "other"])
    page.click("#launch-form button[type=submit]")
    error = page.locator('.field-error[data-for="corpus_dataset_ids"]')
    error.wait_for()
    assert "is the labelled one" in error.inner_text()
    assert page.url.endswith("/jobs")

    corpus.select_option(label=["other"])
    page.click("#launch-form button[type=submit]")
    _wait_done(page)
    page.click("a.run-link")
    page.wait_for_url("**/runs/*")
    said = page.locator("#corpus").inner_text()
    assert "Pre-trained also on the images of" in said
    assert "other (images for pre-training): 3 patches" in said
    with db.get_sessionmaker()() as session:
        train = session.scalar(
            select(func.count())
            .select_from(Patch)
            .where(Patch.dataset_id == ingested_dataset.id, Patch.split == "train")
        )
    assert page.locator("#train-patches").inner_text() == f"{train + 3} patches"

    # The corpus frozen at that launch: a corpus to reuse, never a run's labels.
    page.goto("/jobs")
    page.select_option("select[name=kind]", "pretrain")
    labels = page.locator("select[name=training_set_id] option").all_inner_texts()
    assert not any("images for pre-training" in label for label in labels), labels
    frozen = page.locator("select[name=corpus_training_set_ids]")
    (reused,) = frozen.locator("option").all_inner_texts()
    assert reused.endswith("other (images for pre-training) (3 patches)"), reused
    page.select_option("select[name=dataset_id]", label="tiny")
    page.check("input[name=include_unreviewed]")
    page.fill("input[name=epochs]", "1")
    page.select_option("select[name=device]", "cpu")
    frozen.select_option(label=[reused])
    page.click("#launch-form button[type=submit]")
    _wait_done(page)
    page.click("a.run-link")
    page.wait_for_url("**/runs/*")
    assert reused.split()[0] in page.locator("#corpus").inner_text()  # the same "#id"

    # The run page leads to what its training set froze, patch by patch, and who read it.
    page.click("#training-set-link")
    page.wait_for_url("**/training-sets/*")
    assert page.locator("#frozen-patches tbody tr").count() == len(ingested_dataset.patches)
    assert "still the revision frozen" in page.locator("#changed-since").inner_text()
    page.click("text=All training sets")
    page.click("#purpose-filter >> text=corpora")
    page.wait_for_url("**/training-sets?purpose=corpus")
    (row,) = page.locator("#training-sets tbody tr").all_inner_texts()
    assert row.startswith(reused.split()[0].lstrip("#")) and "#1 #2" in row  # both pre-trainings


def test_a_comparison_over_seeds_from_the_form_shows_its_spread(
    page, make_user, ingested_dataset, worker
) -> None:  # noqa: ANN001
    make_user("rev", "reviewer")
    browser_login(page, "rev")
    _launch(page, "compare", "tiny", epochs="1", pretrain_epochs="1", seeds="0, x")
    error = page.locator('.field-error[data-for="seeds"]')
    error.wait_for()
    assert "separated by commas" in error.inner_text()
    assert page.url.endswith("/jobs")

    page.fill("input[name=seeds]", "0, 1")
    page.fill("input[name=crop_balance]", "0.8")  # how U-BARN learns, as for a fine-tuning job
    page.fill("input[name=ema_decay]", "0.5")
    page.click("#launch-form button[type=submit]")
    page.wait_for_url("**/jobs/*")
    params = page.locator("details pre").first.text_content()
    assert '"crop_balance": 0.8' in params and '"ema_decay": 0.5' in params
    # rendered by the server: the page reloads itself when the comparison has succeeded
    page.locator("#comparison-summary").wait_for(timeout=240_000)
    assert page.locator("#job-state").inner_text() == "succeeded"
    assert page.locator("#comparison-table tbody tr").count() == 6  # 3 scored runs × 2 seeds
    fine_tuned = page.locator(
        '#comparison-summary tr[data-stage="U-BARN pre-trained + fine-tuned"]'
    )
    assert "/2 > 0)" in fine_tuned.inner_text()  # paired with the forest over both seeds
    # one chart per curve, one line per seed: 8 curves (3 + 2 pre-training + 3), not 16
    page.wait_for_function("document.querySelectorAll('.chart[data-metric]').length === 8")
    legend = page.locator('.chart[data-metric="finetune/val_mF1"] .u-legend').inner_text()
    assert "seed 0" in legend and "seed 1" in legend
    page.locator("#comparison-table a", has_text="U-BARN from scratch, seed 1").click()
    page.wait_for_url("**/runs/*")
    assert page.locator("#run-metrics [data-metric=oa]").inner_text() != "–"
