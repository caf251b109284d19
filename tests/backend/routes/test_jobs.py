"""The jobs API: launching (validated, all or nothing), following (events, SSE), cancel, retry."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend import db
from backend.config import get_settings
from backend.models import Job, JobEvent, Patch, Run, TrainingSet
from backend.models.jobs import JobState
from backend.schemas.jobs import (
    FORM_CHOICES,
    PARAMS,
    Device,
    EncoderNorm,
    FinetuneParams,
    ModelSize,
    Regime,
    form_defaults,
)
from backend.services import queue
from backend.services.training_sets import create_corpus
from backend.worker.specs import job_spec
from ml.data.snapshot import TrainingSet as Snapshot
from ml.train.config import PRESETS, REGIMES, TrainConfig
from tests.conftest import login

RF = {"include_unreviewed": True, "label_fraction": 0.5, "seed": 1}


@pytest.fixture
def reviewer(client: TestClient, make_user) -> TestClient:  # noqa: ANN001
    make_user("rev", "reviewer")
    login(client, "rev")
    return client


def _counts() -> tuple[int, int]:
    with db.get_sessionmaker()() as session:
        jobs = session.scalar(select(func.count()).select_from(Job))
        sets = session.scalar(select(func.count()).select_from(TrainingSet))
    return jobs, sets


def test_the_api_defaults_to_the_training_configs_recipe() -> None:
    """A run launched without touching these settings trains the recipe ``ml.train.config``
    documents as the default (class-centred crops, no loss weights, logit adjustment); the
    form starts from the API's defaults (next test)."""
    params = FinetuneParams(dataset_id=1)
    for key in ("class_balance", "crop_balance", "ema_decay", "logit_adjustment"):
        assert getattr(params, key) == getattr(TrainConfig, key), key
    # the network's settings are left unset, to the model's preset (or to the pre-training)
    assert params.mask_clouds is None and params.encoder_norm is None


class _LaunchFormValues(HTMLParser):
    """What the launch form would send untouched (inputs' values, boxes' states, each
    menu's selected or first option), and every option each menu offers."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, Any] = {}
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and attributes.get("type") == "checkbox":
            self.values[name] = "checked" in attributes
        elif tag == "input" and name and "value" in attributes:
            self.values[name] = attributes["value"]
        elif tag == "select" and name:
            self._select = name
            self.options[name] = []
        elif tag == "option" and self._select:
            self.options[self._select].append(attributes.get("value") or "")
            if "selected" in attributes or self._select not in self.values:
                self.values[self._select] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def _launch_form(client: TestClient) -> _LaunchFormValues:
    page = client.get("/jobs").text
    parser = _LaunchFormValues()
    parser.feed(page[page.index('id="launch-form"') :])
    return parser


def test_the_launch_form_starts_from_the_apis_defaults(reviewer: TestClient) -> None:
    """Launching without touching a field sends what the API would have used without it."""
    shown, defaults = _launch_form(reviewer).values, form_defaults()
    filled = {
        "epochs", "pretrain_epochs", "lr", "head_warmup_epochs", "class_balance",
        "crop_balance", "ema_decay", "logit_adjustment", "label_fraction", "seed",
        "include_unreviewed", "model", "device",
    }  # fmt: skip
    assert filled <= shown.keys() & defaults.keys()
    for name in filled:
        assert type(defaults[name])(shown[name]) == defaults[name], name
    assert shown["seeds"] == str(defaults["seed"])
    # left to the preset: an empty choice, which the form does not send (the API's None)
    assert shown["mask_clouds"] == shown["encoder_norm"] == ""
    assert {"mask_clouds", "encoder_norm"}.isdisjoint(defaults)


def test_the_form_defaults_are_read_once_and_read_only() -> None:
    """Every page view shares one set of defaults, so none can change another's."""
    assert form_defaults() is form_defaults()
    with pytest.raises(TypeError):
        form_defaults()["epochs"] = 1  # type: ignore[index]


def test_the_launch_forms_menus_offer_what_the_api_accepts(reviewer: TestClient) -> None:
    """Every kind the page launches is one the API knows, the self-test aside; every regime
    (the trainer's), model and device the API accepts is on offer, and nothing else."""
    offered = _launch_form(reviewer).options
    assert get_args(Regime) == REGIMES
    assert set(get_args(ModelSize)) == PRESETS.keys()
    assert set(offered["kind"]) == PARAMS.keys() - {"selftest"}
    for name, accepted in (("regime", Regime), ("model", ModelSize), ("device", Device)):
        assert offered[name] == list(get_args(accepted)), name
    # the preset's ("", not sent), then each value the API accepts
    assert offered["encoder_norm"] == ["", *sorted(get_args(EncoderNorm))]
    assert offered["mask_clouds"] == ["", "true", "false"]
    assert {name: list(menu) for name, menu in FORM_CHOICES.items()} == {
        name: offered[name] for name in FORM_CHOICES
    }


def test_launch_snapshots_the_labels_and_queues_a_job(
    reviewer: TestClient, ingested_dataset
) -> None:  # noqa: ANN001
    response = reviewer.post(
        "/api/v1/jobs",
        json={"kind": "train_rf", "params": {"dataset_id": ingested_dataset.id, **RF}},
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["state"] == "queued" and job["kind"] == "train_rf"
    assert "dataset_id" not in job["params"] and job["params"]["label_fraction"] == 0.5
    with db.get_sessionmaker()() as session:
        training_set = session.get(TrainingSet, job["params"]["training_set_id"])
    path = get_settings().path(training_set.file)
    snapshot = Snapshot.load(path)
    assert len(snapshot.patches) == training_set.n_patches == 4
    assert all(p.dir.is_dir() and p.label.is_file() for p in snapshot.patches)
    recorded = json.loads(path.read_text())["patches"]
    assert all(p["revision"] == 1 and p["revision_id"] for p in recorded)


def test_launch_on_an_existing_training_set(reviewer: TestClient, ingested_dataset) -> None:  # noqa: ANN001
    first = reviewer.post(
        "/api/v1/jobs",
        json={"kind": "train_rf", "params": {"dataset_id": ingested_dataset.id, **RF}},
    )
    ts = first.json()["params"]["training_set_id"]
    second = reviewer.post(
        "/api/v1/jobs", json={"kind": "pretrain", "params": {"training_set_id": ts, "epochs": 2}}
    )
    assert second.status_code == 201, second.text
    assert _counts() == (2, 1)


FINE_TUNED = {"regime": "finetune", "pretrained_run_id": 1}
BAD = [
    ("finetune", {"epochs": 0}, 422, "epochs"),
    ("finetune", {"epochs": 1001}, 422, "epochs"),
    ("finetune", {"lr": 0}, 422, "lr"),
    ("finetune", {"lr": 1.5}, 422, "lr"),
    ("finetune", {"batch_size": 257}, 422, "batch_size"),
    ("finetune", {"patch_size": 20}, 422, "patch_size"),
    ("finetune", {"patch_size": 264}, 422, "patch_size"),
    ("finetune", {"label_fraction": 0}, 422, "label_fraction"),
    ("finetune", {"class_balance": -0.5}, 422, "class_balance"),
    ("finetune", {"class_balance": 1.5}, 422, "class_balance"),
    ("finetune", {"crop_balance": -0.1}, 422, "crop_balance"),
    ("finetune", {"crop_balance": 2}, 422, "crop_balance"),
    ("finetune", {"ema_decay": 1}, 422, "ema_decay"),
    ("finetune", {"ema_decay": -0.5}, 422, "ema_decay"),
    ("finetune", {"logit_adjustment": "maybe"}, 422, "logit_adjustment"),
    ("finetune", {"head_lr": 0}, 422, "head_lr"),
    ("finetune", {"patience": 0}, 422, "patience"),
    ("compare", {"patience": 1001}, 422, "patience"),
    ("compare", {"crop_balance": 1.5}, 422, "crop_balance"),
    ("compare", {"ema_decay": 1}, 422, "ema_decay"),
    ("compare", {"class_balance": -0.1}, 422, "class_balance"),
    ("finetune", {"head_lr": 2}, 422, "head_lr"),
    ("finetune", {"head_warmup_epochs": -1}, 422, "head_warmup_epochs"),
    ("finetune", {"head_warmup_epochs": 3}, 422, "head_warmup_epochs"),  # scratch regime
    ("finetune", {**FINE_TUNED, "epochs": 5, "head_warmup_epochs": 5}, 422, "head_warmup_epochs"),
    ("train_rf", {"label_fraction": 1.01}, 422, "label_fraction"),
    ("finetune", {"device": "tpu"}, 422, "device"),
    ("finetune", {"seed": -1}, 422, "seed"),
    ("finetune", {"epochs": "ten"}, 422, "epochs"),
    ("finetune", {"learning_rate": 0.1}, 422, "learning_rate"),
    ("finetune", {"regime": "frozen"}, 422, "params"),
    ("finetune", {"regime": "finetune", "pretrained_run_id": 999}, 404, "pretrained_run_id"),
    ("evaluate", {"run_id": 999}, 404, "run_id"),
    ("compare", {"seeds": "0, x"}, 422, "seeds"),
    ("compare", {"seeds": "1, 1"}, 422, "seeds"),
    ("compare", {"seeds": ""}, 422, "seeds"),
    ("compare", {"seeds": [-1]}, 422, "seeds"),
    ("compare", {"seeds": ",".join(map(str, range(21)))}, 422, "seeds"),
    ("nonsense", {}, 422, "kind"),
]


SOURCES = [
    ({"dataset_id": 999, "include_unreviewed": True}, 404),
    ({"training_set_id": 999}, 404),
    ({}, 422),  # neither a dataset nor a training set
    ({"dataset_id": "DATASET"}, 422),  # default statuses: nothing validated yet
]


def test_bad_input_is_refused_and_writes_nothing(reviewer: TestClient, ingested_dataset) -> None:  # noqa: ANN001
    # One test over every case: each case is cheap, the ingested dataset is not.
    for kind, change, status, field in BAD:
        params = {"dataset_id": ingested_dataset.id, "include_unreviewed": True, **change}
        response = reviewer.post("/api/v1/jobs", json={"kind": kind, "params": params})
        assert response.status_code == status, (kind, change, response.text)
        body = response.json()
        assert field in body.get("errors", {}) or body.get("field") == field, (change, body)
    for params, status in SOURCES:
        params = {k: (ingested_dataset.id if v == "DATASET" else v) for k, v in params.items()}
        response = reviewer.post("/api/v1/jobs", json={"kind": "train_rf", "params": params})
        assert response.status_code == status, (params, response.text)
        assert response.json()["detail"]
    assert _counts() == (0, 0)


def _pretraining(params: dict[str, Any]) -> int:
    """A finished pre-training run's row, made with ``params``; its id."""
    with db.get_sessionmaker()() as session:
        run = Run(kind="pretrain", name="pre", params=params, out_dir="runs/pre")
        session.add(run)
        session.commit()
        return run.id


@pytest.mark.parametrize(
    ("made", "asked", "field"),
    [
        ({"model": "tiny"}, {"mask_clouds": True}, "mask_clouds"),  # made before the setting
        ({"model": "tiny", "mask_clouds": True}, {"mask_clouds": False}, "mask_clouds"),
        ({"model": "paper", "mask_clouds": False}, {"model": "tiny"}, "model"),
        ({"model": "tiny"}, {"encoder_norm": "batch"}, "encoder_norm"),  # made before it
        ({"model": "tiny", "encoder_norm": "batch"}, {"encoder_norm": "group"}, "encoder_norm"),
        # left to the preset: the tiny preset's BatchNorm; the paper preset's GroupNorm
        ({"model": "tiny", "encoder_norm": None}, {"encoder_norm": "group"}, "encoder_norm"),
        (
            {"model": "paper", "encoder_norm": None},
            {"model": "paper", "encoder_norm": "batch"},
            "encoder_norm",
        ),
    ],
)
def test_a_pretraining_is_fine_tuned_with_the_network_it_was_made_with(
    reviewer: TestClient,
    ingested_dataset,
    made: dict,
    asked: dict,
    field: str,  # noqa: ANN001
) -> None:
    run_id = _pretraining(made)
    params = {"dataset_id": ingested_dataset.id, "include_unreviewed": True,
              "regime": "finetune", "pretrained_run_id": run_id}  # fmt: skip
    refused = reviewer.post("/api/v1/jobs", json={"kind": "finetune", "params": params | asked})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field and f"Run {run_id} was pre-trained" in refused.text
    assert _counts() == (0, 0)
    same = params | made
    accepted = reviewer.post("/api/v1/jobs", json={"kind": "finetune", "params": same})
    assert accepted.status_code == 201, accepted.text
    for key in ("mask_clouds", "encoder_norm"):
        assert accepted.json()["params"][key] == made.get(key), key
    # left unset, the network's settings are the pre-training's: nothing to refuse
    unset = params | {"model": made["model"]}
    unset_accepted = reviewer.post("/api/v1/jobs", json={"kind": "finetune", "params": unset})
    assert unset_accepted.status_code == 201, unset_accepted.text


def _reject(patches: list[Patch]) -> None:
    with db.get_sessionmaker()() as session:
        for patch in patches:
            session.get(Patch, patch.id).status = "rejected"
        session.commit()


def test_a_pretraining_corpus_is_frozen_at_launch_and_handed_to_the_worker(
    reviewer: TestClient,
    ingested_dataset,
    other_scene,  # noqa: ANN001
) -> None:
    """Another scene's patches, unreviewed, join the pre-training; a rejected one does not."""
    rejected, *kept = sorted(other_scene.patches, key=lambda p: p.id)
    _reject([rejected])
    params = {"dataset_id": ingested_dataset.id, "include_unreviewed": True, "epochs": 1,
              "corpus_dataset_ids": [other_scene.id]}  # fmt: skip
    response = reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
    assert response.status_code == 201, response.text
    job = response.json()
    assert "corpus_dataset_ids" not in job["params"]
    (corpus_id,) = job["params"]["corpus_training_set_ids"]
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        corpus = session.get(TrainingSet, corpus_id)
        assert (corpus.dataset_id, corpus.n_patches) == (other_scene.id, 2)
        assert "unreviewed" in corpus.statuses and "rejected" not in corpus.statuses
        lease = queue.claim(engine=db.get_engine(), worker_id="t", lease_s=60)
        spec = job_spec(session=session, settings=settings, lease=lease)
    frozen = Snapshot.load(settings.path(corpus.file))
    assert sorted(p.id for p in frozen.patches) == sorted(p.external_id for p in kept)
    assert all(p.dir.is_dir() for p in frozen.patches)
    assert spec["config"]["corpus"] == [str(settings.path(corpus.file))]
    assert "corpus_training_set_ids" not in spec["config"]

    compare = {"training_set_id": job["params"]["training_set_id"],
               "corpus_dataset_ids": [other_scene.id]}  # fmt: skip
    response = reviewer.post("/api/v1/jobs", json={"kind": "compare", "params": compare})
    assert response.status_code == 201, response.text
    assert response.json()["params"]["corpus_training_set_ids"] == [corpus_id + 1]
    assert _counts() == (2, 3)


def _frozen_corpus(dataset_id: int) -> int:
    """A corpus training set of ``dataset_id``, as a pre-training's launch freezes one."""
    with db.get_sessionmaker()() as session:
        (corpus,) = create_corpus(
            session=session, settings=get_settings(), dataset_ids=[dataset_id]
        )
        return corpus.id


def test_a_launch_that_fails_half_way_leaves_no_training_set(
    reviewer: TestClient,
    ingested_dataset,
    other_scene,  # noqa: ANN001
) -> None:
    """The labels' snapshot and the corpus's are written one after the other; when the last
    cannot be (here a folder squats its file name, as a full disk would fail it), neither
    is kept without a job."""
    squatter = get_settings().path("snapshots/2.json")  # the corpus's, after the labels' 1
    squatter.mkdir(parents=True)
    params = {"dataset_id": ingested_dataset.id, "include_unreviewed": True,
              "corpus_dataset_ids": [other_scene.id]}  # fmt: skip
    with pytest.raises(OSError):
        reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
    assert _counts() == (0, 0)
    assert list(squatter.parent.iterdir()) == [squatter]  # neither 1.json nor 2.json.tmp
    squatter.rmdir()
    response = reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
    assert response.status_code == 201, response.text
    assert response.json()["params"]["training_set_id"] == 1
    assert response.json()["params"]["corpus_training_set_ids"] == [2]
    assert _counts() == (1, 2)


def test_a_corpus_frozen_before_is_reused_image_for_image(
    reviewer: TestClient,
    ingested_dataset,
    other_scene,  # noqa: ANN001
) -> None:
    """A second pre-training learns from the first one's corpus, not from a new freeze: a
    patch rejected since is still in it, and no training set is written for it."""
    corpus_id = _frozen_corpus(other_scene.id)
    _reject(other_scene.patches[:1])
    params = {"dataset_id": ingested_dataset.id, "include_unreviewed": True, "epochs": 1,
              "corpus_training_set_ids": [corpus_id]}  # fmt: skip
    response = reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
    assert response.status_code == 201, response.text
    assert response.json()["params"]["corpus_training_set_ids"] == [corpus_id]
    assert _counts() == (1, 2)  # the corpus, and the labels' new snapshot
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        lease = queue.claim(engine=db.get_engine(), worker_id="t", lease_s=60)
        spec = job_spec(session=session, settings=settings, lease=lease)
        corpus = session.get(TrainingSet, corpus_id)
        assert (corpus.purpose, corpus.n_patches) == ("corpus", 3)
    assert spec["config"]["corpus"] == [str(settings.path(corpus.file))]


def test_a_training_set_whose_snapshot_file_is_lost_is_refused(
    reviewer: TestClient,
    ingested_dataset,
    other_scene,  # noqa: ANN001
) -> None:
    """The row alone does not say which patches and label revisions were frozen: the form
    greys it out, a launch reusing it is refused before anything is written, its revisions
    cannot be shown, and a job queued on it before fails with the reason when a worker
    claims it."""
    corpus = _frozen_corpus(other_scene.id)
    queued = reviewer.post(
        "/api/v1/jobs",
        json={"kind": "train_rf", "params": {"dataset_id": ingested_dataset.id, **RF}},
    ).json()
    labels = queued["params"]["training_set_id"]
    settings = get_settings()
    for training_set_id in (labels, corpus):
        settings.path(f"snapshots/{training_set_id}.json").unlink()
    counts = _counts()
    cases = [
        ("training_set_id", {"training_set_id": labels}),
        ("corpus_training_set_ids", {"dataset_id": ingested_dataset.id, "include_unreviewed": True,
                                     "corpus_training_set_ids": [corpus]}),
    ]  # fmt: skip
    for field, params in cases:
        response = reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
        assert response.status_code == 409, response.text
        assert "has lost its snapshot file" in response.json()["detail"]
        assert response.json()["field"] == field
    assert _counts() == counts
    assert not any(settings.path("snapshots").iterdir())
    form = reviewer.get("/jobs").text  # both menus grey the sets out, and say why
    for training_set_id in (labels, corpus):
        assert f'<option value="{training_set_id}" disabled>' in form
    assert form.count(": snapshot file lost</option>") == 2
    revisions = reviewer.get(f"/api/v1/training-sets/{labels}/revisions")
    assert revisions.status_code == 409 and f"snapshots/{labels}.json" in revisions.text

    with db.get_sessionmaker()() as session:
        lease = queue.claim(engine=db.get_engine(), worker_id="t", lease_s=60)
        assert lease.job_id == queued["id"]
        with pytest.raises(ValueError, match="has lost its snapshot file"):
            job_spec(session=session, settings=settings, lease=lease)


def test_a_corpus_is_no_training_set_of_labels(
    reviewer: TestClient,
    ingested_dataset,
    other_scene,  # noqa: ANN001
) -> None:
    """Its labels were never checked and it may lack a test patch: no job reads it as labels,
    and the form lists it only as a corpus."""
    corpus_id = _frozen_corpus(other_scene.id)
    for kind in ("finetune", "train_rf", "pretrain", "compare"):
        params = {"training_set_id": corpus_id}
        response = reviewer.post("/api/v1/jobs", json={"kind": kind, "params": params})
        assert response.status_code == 422, (kind, response.text)
        assert response.json()["field"] == "training_set_id"
        assert "is a pre-training corpus" in response.text
    assert _counts() == (0, 1)
    menus = _launch_form(reviewer).options
    assert str(corpus_id) not in menus["training_set_id"]
    assert menus["corpus_training_set_ids"] == [str(corpus_id)]


def test_a_bad_corpus_is_refused_and_writes_nothing(
    reviewer: TestClient,
    ingested_dataset,
    other_scene,  # noqa: ANN001
    session,  # noqa: ANN001
) -> None:
    """Datasets to freeze and corpora frozen before, each fault with its message and field."""
    labelled, other = ingested_dataset.id, other_scene.id
    corpus, own, again = _frozen_corpus(other), _frozen_corpus(labelled), _frozen_corpus(other)
    labels = reviewer.post(
        "/api/v1/jobs",
        json={"kind": "train_rf", "params": {"dataset_id": labelled, **RF}},
    ).json()["params"]["training_set_id"]
    written = _counts(), sorted(get_settings().path("snapshots").iterdir())
    frozen = "corpus_training_set_ids"
    cases = [
        ("pretrain", {"corpus_dataset_ids": [999]}, 404, "No dataset with id 999"),
        ("pretrain", {"corpus_dataset_ids": [labelled]}, 422, "is the labelled one"),
        ("compare", {"corpus_dataset_ids": [other, other]}, 422, "a dataset is given twice"),
        ("compare", {"corpus_dataset_ids": "other"}, 422, "valid list"),
        ("finetune", {"corpus_dataset_ids": [other]}, 422, "Extra inputs are not permitted"),
        ("pretrain", {"dataset_id": 999, "corpus_dataset_ids": [other]}, 404, "id 999"),
        ("pretrain", {frozen: [999]}, 404, "No training set with id 999"),
        ("pretrain", {frozen: [labels]}, 422, "holds labels, not a pre-training corpus"),
        ("pretrain", {frozen: [own]}, 422, "is the labelled one"),
        ("compare", {frozen: [corpus], "corpus_dataset_ids": [other]}, 422, "the corpus twice"),
        ("compare", {frozen: [corpus, corpus]}, 422, "a training set is given twice"),
        ("pretrain", {frozen: [corpus, again]}, 422, "would be in the corpus twice"),
        ("finetune", {frozen: [corpus]}, 422, "Extra inputs are not permitted"),
    ]
    for kind, change, status, message in cases:
        params = {"dataset_id": labelled, "include_unreviewed": True, **change}
        response = reviewer.post("/api/v1/jobs", json={"kind": kind, "params": params})
        assert response.status_code == status, (change, response.text)
        assert message in response.text, (change, response.text)
    other_scene.bands = other_scene.bands[::-1]
    session.commit()
    for field, ids in (("corpus_dataset_ids", [other]), (frozen, [corpus])):
        params = {"dataset_id": labelled, "include_unreviewed": True, field: ids}
        response = reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
        assert response.status_code == 422 and "has bands B12, B11" in response.text, response.text
        assert response.json()["field"] == field
    other_scene.bands = other_scene.bands[::-1]
    session.commit()
    _reject(other_scene.patches)
    params = {"dataset_id": labelled, "include_unreviewed": True, "corpus_dataset_ids": [other]}
    response = reviewer.post("/api/v1/jobs", json={"kind": "pretrain", "params": params})
    assert response.status_code == 422 and "no patch to learn from" in response.text
    assert (_counts(), sorted(get_settings().path("snapshots").iterdir())) == written


def test_annotators_and_forged_requests_cannot_launch(
    client: TestClient, make_user, ingested_dataset
) -> None:  # noqa: ANN001
    make_user("ann", "annotator")
    login(client, "ann")
    body = {"kind": "train_rf", "params": {"dataset_id": ingested_dataset.id, **RF}}
    assert client.post("/api/v1/jobs", json=body).status_code == 403
    make_user("rev", "reviewer")
    login(client, "rev")
    del client.headers["X-CSRF-Token"]
    assert client.post("/api/v1/jobs", json=body).status_code == 403
    assert _counts() == (0, 0)


def _run_fake_job(job_id: int, n_events: int = 3) -> None:
    """Play a worker's part by hand: claim, write events, succeed."""
    lease = queue.claim(engine=db.get_engine(), worker_id="test", lease_s=60)
    assert lease.job_id == job_id
    with db.get_sessionmaker()() as session:
        events = [
            ("metric", {"name": "train_loss", "value": 1.0 / (i + 1), "step": i})
            for i in range(n_events)
        ]
        queue.add_events(
            session=session,
            lease=lease,
            events=[*events, ("progress", {"fraction": 0.9, "message": "almost"})],
        )
        queue.finish(session=session, lease=lease, state=JobState.succeeded)
        session.commit()


def test_follow_a_job_by_polling_and_by_stream(reviewer: TestClient) -> None:
    job = reviewer.post("/api/v1/jobs", json={"kind": "selftest", "params": {"steps": 2}}).json()
    _run_fake_job(job["id"])
    assert reviewer.get(f"/api/v1/jobs/{job['id']}").json()["state"] == "succeeded"
    events = reviewer.get(f"/api/v1/jobs/{job['id']}/events").json()
    assert [e["kind"] for e in events] == ["metric", "metric", "metric", "progress"]
    later = reviewer.get(
        f"/api/v1/jobs/{job['id']}/events", params={"after": events[1]["id"]}
    ).json()
    assert [e["id"] for e in later] == [e["id"] for e in events[2:]]

    stream = reviewer.get(
        f"/api/v1/jobs/{job['id']}/stream", headers={"Last-Event-ID": str(events[0]["id"])}
    )
    assert stream.headers["content-type"].startswith("text/event-stream")
    ids = [int(line[4:]) for line in stream.text.splitlines() if line.startswith("id: ")]
    assert ids == [e["id"] for e in events[1:]]
    assert "event: job" in stream.text and stream.text.rstrip().endswith(
        'data: {"state": "succeeded"}'
    )
    assert reviewer.get("/api/v1/jobs/999/stream").status_code == 404


def test_cancel_then_retry(reviewer: TestClient) -> None:
    job = reviewer.post("/api/v1/jobs", json={"kind": "selftest", "params": {}}).json()
    cancelled = reviewer.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    assert reviewer.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 409
    assert reviewer.post(f"/api/v1/jobs/{job['id']}/retry").json()["state"] == "queued"
    assert reviewer.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 409
    assert reviewer.post("/api/v1/jobs/999/cancel").status_code == 404
    listed = reviewer.get("/api/v1/jobs").json()
    assert [j["id"] for j in listed] == [job["id"]]


def test_pages_render(reviewer: TestClient) -> None:
    job = reviewer.post(
        "/api/v1/jobs", json={"kind": "selftest", "params": {"name": "ping"}}
    ).json()
    page = reviewer.get("/jobs")
    assert page.status_code == 200 and 'id="launch-form"' in page.text and "ping" in page.text
    assert reviewer.get(f"/jobs/{job['id']}").status_code == 200
    assert reviewer.get("/jobs/999").status_code == 404
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(JobEvent)) == 0
