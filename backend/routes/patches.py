"""Patches for photo-interpretation: detail, imagery PNGs, pixel series, history, corrections."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.config import get_settings
from backend.deps import CurrentUser, SessionDep, check_csrf
from backend.errors import Invalid, NotFound
from backend.models import Patch
from backend.schemas.patches import PatchDetail, PatchHistory, PixelSeries, RevisionOut
from backend.services import corrections, imagery
from backend.services.history import patch_history, revision_out
from backend.services.labels import (
    current_revision,
    get_patch,
    patch_nomenclature,
    read_revision,
    revision_of,
)
from backend.services.patch_view import patch_detail, patch_folder, pixel_series
from backend.templating import render
from ml.data import store

router = APIRouter(prefix="/api/v1/patches", tags=["patches"])
pages = APIRouter(include_in_schema=False)
View = Literal["true", "false", "ndvi"]
# Bump when rendering changes, so browsers drop images cached under the old look.
RENDER_VERSION = "1"
IMMUTABLE = "private, max-age=31536000, immutable"
PNG = {200: {"content": {"image/png": {}}}}


def _patch(session: SessionDep, patch_id: int) -> Patch:
    return get_patch(session=session, patch_id=patch_id)


PatchDep = Annotated[Patch, Depends(_patch)]


def cached_response(
    request: Request, key: str, make: Callable[[], bytes], media_type: str
) -> Response:
    """Answer 304 when the browser has this exact image, else render it with a strong ETag."""
    etag = '"' + hashlib.sha1(f"{RENDER_VERSION}:{key}".encode()).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    try:
        content = make()
    except imagery.RenderError as exc:
        raise Invalid(str(exc)) from exc
    return Response(content, media_type=media_type, headers=headers)


@router.get("/{patch_id}")
def get_patch_detail(patch: PatchDep, session: SessionDep, _: CurrentUser) -> PatchDetail:
    """The patch with its current label revision, legend, dates and image URL templates."""
    return patch_detail(session=session, patch=patch)


@router.get("/{patch_id}/images/{date}/{view}.png", responses=PNG)
def image(request: Request, patch: PatchDep, date: int, view: View, _: CurrentUser) -> Response:
    """One date in one view (true colour B4-B3-B2, false colour B8-B4-B3, NDVI ramp)."""
    folder = patch_folder(patch)
    return cached_response(
        request,
        f"image:{patch.id}:{date}:{view}",
        lambda: imagery.encode_png(imagery.render_view(folder, date, view)),
        "image/png",
    )


@router.get("/{patch_id}/clouds/{date}.png", responses=PNG)
def clouds(request: Request, patch: PatchDep, date: int, _: CurrentUser) -> Response:
    """The cloud mask of one date as a transparent overlay (cloud, shadow, nodata)."""
    folder = patch_folder(patch)
    return cached_response(
        request,
        f"clouds:{patch.id}:{date}",
        lambda: imagery.encode_png(imagery.cloud_overlay(folder, date)),
        "image/png",
    )


@router.get("/{patch_id}/strip/{view}.webp", responses={200: {"content": {"image/webp": {}}}})
def strip(
    request: Request,
    patch: PatchDep,
    view: View,
    _: CurrentUser,
    size: Annotated[int, Query(ge=8, le=128)] = 48,
) -> Response:
    """Thumbnails of every date side by side in one image (date t at x = t * size)."""
    folder = patch_folder(patch)
    return cached_response(
        request,
        f"strip:{patch.id}:{view}:{size}",
        lambda: imagery.encode_webp(imagery.thumbnail_strip(folder, view, size)),
        "image/webp",
    )


@router.get("/{patch_id}/labels/current.png", status_code=307, response_class=RedirectResponse)
def current_label_png(patch: PatchDep, session: SessionDep, _: CurrentUser) -> RedirectResponse:
    """Redirect to the current revision's label image (whose URL never changes meaning)."""
    revision = current_revision(session=session, patch_id=patch.id)
    if revision is None:
        raise NotFound(f"Patch {patch.id} has no label revision.")
    return RedirectResponse(f"{router.prefix}/{patch.id}/labels/{revision.id}.png", status_code=307)


@router.get("/{patch_id}/labels/{revision_id}.png", responses=PNG)
def label_png(
    request: Request, patch: PatchDep, revision_id: int, session: SessionDep, _: CurrentUser
) -> Response:
    """A label revision in the nomenclature's colours (ignored codes transparent)."""
    revision = revision_of(session=session, patch=patch, revision_id=revision_id)
    colormap = patch_nomenclature(session=session, patch=patch).colormap()
    return cached_response(
        request,
        f"label:{patch.id}:{revision.id}",
        lambda: imagery.encode_png(imagery.label_overlay(read_revision(revision), colormap)),
        "image/png",
    )


@router.get(
    "/{patch_id}/labels/{revision_id}.raw",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def label_raw(
    request: Request, patch: PatchDep, revision_id: int, session: SessionDep, _: CurrentUser
) -> Response:
    """A label revision as raw class codes: height x width uint8, row-major (for the editor)."""
    revision = revision_of(session=session, patch=patch, revision_id=revision_id)
    return cached_response(
        request,
        f"raw:{patch.id}:{revision.id}",
        lambda: np.ascontiguousarray(read_revision(revision)).tobytes(),
        "application/octet-stream",
    )


@router.get("/{patch_id}/reference.png", responses=PNG)
def reference_png(
    request: Request, patch: PatchDep, session: SessionDep, _: CurrentUser
) -> Response:
    """The patch's reference labels (when the dataset has them), in the nomenclature's colours."""
    if patch.reference_file is None:
        raise NotFound(f"Patch {patch.id} has no reference labels.")
    path = get_settings().path(patch.reference_file)
    colormap = patch_nomenclature(session=session, patch=patch).colormap()
    return cached_response(
        request,
        f"reference:{patch.id}",
        lambda: imagery.encode_png(imagery.label_overlay(store.read_label(path), colormap)),
        "image/png",
    )


@router.get("/{patch_id}/pixel")
def pixel(
    patch: PatchDep,
    session: SessionDep,
    _: CurrentUser,
    row: Annotated[int, Query(ge=0)],
    col: Annotated[int, Query(ge=0)],
) -> PixelSeries:
    """One pixel's NDVI, band reflectances and cloud flags per date, with its label."""
    if row >= patch.height or col >= patch.width:
        raise Invalid(f"Pixel ({row}, {col}) is outside the {patch.height}x{patch.width} patch.")
    return pixel_series(session=session, patch=patch, row=row, col=col)


@router.get("/{patch_id}/history")
def history(patch: PatchDep, session: SessionDep, _: CurrentUser) -> PatchHistory:
    """Every decision (with user, view, date, time spent) and every label revision."""
    return patch_history(session=session, patch=patch)


@router.post("/{patch_id}/corrections", status_code=201, dependencies=[Depends(check_csrf)])
def correct(
    patch_id: int,
    file: UploadFile,
    session: SessionDep,
    user: CurrentUser,
    base_revision_id: Annotated[int, Form()],
    comment: Annotated[str, Form(max_length=2000)] = "",
    confidence: Annotated[int | None, Form(ge=1, le=5)] = None,
    time_spent_ms: Annotated[int | None, Form(ge=0)] = None,
    view: Annotated[View | None, Form()] = None,
    date_shown: Annotated[str | None, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
) -> RevisionOut:
    """Save a corrected mask (PNG of class codes, raw uint8 bytes or JSON) as a new revision.

    409 with `current_revision_id` when `base_revision_id` is no longer the current one;
    422 for a wrong size or class codes outside the nomenclature. Nothing is written then.
    """
    revision = corrections.save_correction(
        session=session,
        user=user,
        patch_id=patch_id,
        base_revision_id=base_revision_id,
        content=file.file.read(),
        comment=comment,
        confidence=confidence,
        time_spent_ms=time_spent_ms,
        view=view,
        date_shown=date_shown,
    )
    return revision_out(revision, user.username)


@pages.get("/patches/{patch_id}", response_class=HTMLResponse)
def patch_page(
    request: Request, patch: PatchDep, session: SessionDep, user: CurrentUser
) -> HTMLResponse:
    """A patch's page: its label, status and full history."""
    detail = patch_detail(session=session, patch=patch)
    return render(
        request,
        "patch.html",
        user,
        patch=detail,
        history=patch_history(session=session, patch=patch),
    )
