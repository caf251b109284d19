"""The predict_map job kind seen from the backend: launch checks and the products it records."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend import db
from backend.config import get_settings
from backend.errors import Invalid, NotFound
from backend.models import Dataset, Job, MapProduct, Run
from backend.services import jobs, queue
from backend.services.map_products import record_prediction, scene_config
from ml.context import LocalContext
from ml.predict import predict_map
from ml.scene import open_scene
from tests.scenes import NdviPredictor, scene_dataset


def test_launch_refuses_unknown_or_sceneless_dataset(session) -> None:  # noqa: ANN001
    settings = get_settings()
    with pytest.raises(NotFound):
        jobs.launch(
            session=session,
            settings=settings,
            kind="predict_map",
            params={"run_id": 1, "scene_dataset_id": 42},
        )
    dataset = Dataset(
        name="no-scene", nomenclature_id=1, format="geotiff", bands=["B4", "B8"], crs=None
    )
    session.add(dataset)
    session.commit()
    with pytest.raises(Invalid, match="no whole scene"):
        scene_config(session=session, settings=settings, dataset_id=dataset.id)
    with pytest.raises(Invalid):
        jobs.launch(
            session=session,
            settings=settings,
            kind="predict_map",
            params={"scene_dataset_id": dataset.id},
        )
    assert session.query(MapProduct).count() == 0


def test_a_finished_prediction_job_records_classes_and_confidence(
    database: str, tmp_path: Path
) -> None:
    data = scene_dataset(tmp_path / "synth")
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        config = scene_config(session=session, settings=settings, dataset_id=data["dataset"])
        params = {"name": "tiny RF", "run_id": None, "scene_dataset_id": data["dataset"]}
        job = queue.enqueue(session=session, kind="predict_map", params=params)
        out = settings.path(f"jobs/{job.id}/out")
        ctx = LocalContext(settings.path(f"jobs/{job.id}/checkpoints"), out)
        scene = open_scene(Path(config["series"]), Path(config["clouds"]))
        result = predict_map(
            NdviPredictor(), scene, out_dir=out, work_dir=ctx.checkpoint_dir / "predict"
        )
        summary = {
            "classes": result.classes.name,
            "confidence": result.confidence.name,
            "areas_ha": {str(k): v for k, v in result.areas_ha.items()},
            "stopped": False,
        }
        lease = queue.Lease(
            job_id=job.id, token="t", worker_id="w", kind="predict_map", params=params, attempt=1
        )
        before = session.query(MapProduct).count()
        copies = {name: out / f"{name}.web.tif" for name in ("classes", "confidence")}
        written = {name: path.stat().st_mtime_ns for name, path in copies.items()}  # by the job
        record_prediction(session, lease, summary)
        session.commit()
        added = session.query(MapProduct).order_by(MapProduct.id).all()[before:]
    assert [p.kind for p in added] == ["confidence", "classes"]
    classes = added[1]
    assert classes.name == "tiny RF classes" and classes.meta["confidence_id"] == added[0].id
    assert classes.file == f"jobs/{job.id}/out/classes.tif" and classes.job_id == job.id
    # Recording only registers the display copies the job wrote (it runs in a transaction).
    assert classes.meta["display_file"] == f"jobs/{job.id}/out/classes.web.tif"
    assert {name: path.stat().st_mtime_ns for name, path in copies.items()} == written


@pytest.mark.slow
def test_predict_map_job_through_the_queue(database: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A real RF run, then a predict_map job claimed by the worker, recorded as products."""
    from backend.worker.local import LocalBackend
    from backend.worker.supervisor import Supervisor

    monkeypatch.setenv("SITSLAB_HEARTBEAT_S", "0.3")
    get_settings.cache_clear()
    data = scene_dataset(tmp_path / "synth")
    settings = get_settings()

    def launch_and_work(kind: str, **params: object) -> int:
        with db.get_sessionmaker()() as session:
            job_id = jobs.launch(session=session, settings=settings, kind=kind, params=params).id
        Supervisor(engine=db.get_engine(), settings=settings, backend=LocalBackend()).run(
            burst=True
        )
        return job_id

    rf_job = launch_and_work(
        "train_rf", dataset_id=data["dataset"], include_unreviewed=True, seed=0
    )
    with db.get_sessionmaker()() as session:
        assert session.get(Job, rf_job).state == "succeeded", session.get(Job, rf_job).error
        run = session.query(Run).filter(Run.job_id == rf_job).one()
        run_id = run.id
    map_job = launch_and_work(
        "predict_map", run_id=run_id, scene_dataset_id=data["dataset"], name="RF map"
    )
    with db.get_sessionmaker()() as session:
        assert session.get(Job, map_job).state == "succeeded", session.get(Job, map_job).error
        products = session.query(MapProduct).filter(MapProduct.job_id == map_job).all()
        assert sorted(p.kind for p in products) == ["classes", "confidence"]
        classes = next(p for p in products if p.kind == "classes")
        assert classes.run_id == run_id and classes.dataset_id == data["dataset"]
        assert sum(classes.meta["areas_ha"].values()) == pytest.approx(64 * 64 / 100, rel=0.01)
