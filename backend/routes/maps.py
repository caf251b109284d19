"""Map products: the /maps explorer page and the /api/v1/maps JSON (tiles live in backend.tiles)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from backend.deps import CurrentUser, ReviewerUser, SessionDep, check_csrf
from backend.errors import Invalid
from backend.services import map_inspect, map_products
from backend.templating import render

router = APIRouter(prefix="/api/v1/maps", tags=["maps"])
pages = APIRouter(include_in_schema=False)


class CompareIn(BaseModel):
    """Two class map products to cross-tabulate."""

    a: int
    b: int


@pages.get("/maps", response_class=HTMLResponse)
def maps_page(request: Request, user: CurrentUser) -> HTMLResponse:
    """The side-by-side explorer."""
    return render(request, "maps.html", user)


@router.get("")
def list_maps(session: SessionDep, _user: CurrentUser) -> list[dict[str, Any]]:
    """Every map product, newest first, with tile URL template, bounds and legend."""
    return map_products.list_products(session=session)


@router.get("/inspect")
def inspect_pixel(
    session: SessionDep,
    _user: CurrentUser,
    products: Annotated[str, Query(description="comma-separated product ids", examples=["1,2"])],
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> dict[str, Any]:
    """Classes, confidence, reference label, NDVI series and covering patch at one point."""
    try:
        ids = [int(p) for p in products.split(",") if p.strip()]
    except ValueError:
        raise Invalid("products must be comma-separated ids, e.g. 1,2", field="products") from None
    if not ids or len(ids) > 8:
        raise Invalid("give between 1 and 8 product ids", field="products")
    return map_inspect.inspect(session=session, product_ids=ids, lon=lon, lat=lat)


@router.get("/{product_id}")
def get_map(product_id: int, session: SessionDep, _user: CurrentUser) -> dict[str, Any]:
    """One product: kind, bounds, zooms, tile URL template, legend with class areas."""
    return map_products.product_out(
        session, map_products.get_product(session=session, product_id=product_id)
    )


@router.post("/compare", status_code=201, dependencies=[Depends(check_csrf)])
def compare(body: CompareIn, session: SessionDep, _user: ReviewerUser) -> dict[str, Any]:
    """A disagreement product between two class maps, with the agreement matrix and
    Pontius' quantity / allocation disagreement."""
    product = map_products.compare_products(session=session, a_id=body.a, b_id=body.b)
    return map_products.product_out(session, product)
