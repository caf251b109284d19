// The map explorer: two map products over a composite backdrop, compared by swipe (one
// map, the right layer clipped at a draggable divider) or side by side (two maps kept in
// step by leaflet.sync); a legend per side and a pixel inspector reading native values.
import { api } from "./api.js";

const L = window.L;
const $ = (id) => document.getElementById(id);
const CATEGORICAL = new Set(["classes", "reference", "disagreement"]);
const state = { products: [], byId: new Map(), mode: "swipe", split: 0.5, layers: {}, marker: null, plot: null };

function productOptions(select, products, blank) {
  select.innerHTML = "";
  if (blank) select.append(new Option(blank, ""));
  for (const p of products) select.append(new Option(p.name, String(p.id)));
}

function tileLayer(product, pane) {
  const [w, s, e, n] = product.bounds;
  return L.tileLayer(product.tiles, {
    pane,
    bounds: L.latLngBounds([s, w], [n, e]),
    maxNativeZoom: product.maxzoom,
    maxZoom: 20,
    className: CATEGORICAL.has(product.kind) ? "class-tiles" : "",
    opacity: 1,
  });
}

function makeMap(id) {
  const map = L.map(id, { zoomControl: true, attributionControl: false, maxZoom: 20 });
  for (const [name, z] of [["backdrop", 300], ["left", 410], ["right", 420]]) {
    map.createPane(name).style.zIndex = z;
  }
  map.on("click", (ev) => inspect(ev.latlng));
  return map;
}

const mapA = makeMap("map-a");
const mapB = makeMap("map-b");
const divider = document.createElement("div");
divider.className = "swipe-divider";
divider.innerHTML = '<span class="handle" aria-label="Drag to compare">&#8596;</span>';
divider.dataset.testid = "swipe";
$("map-a").append(divider);

// Swipe: clip the right pane to the part of the view right of the divider. Panes move
// with the map, so the clip polygon is recomputed in layer coordinates on every move.
function clipRight() {
  const pane = mapA.getPane("right");
  if (state.mode !== "swipe") { pane.style.clipPath = ""; return; }
  const size = mapA.getSize();
  const x = Math.round(size.x * state.split);
  divider.style.left = `${x}px`;
  const nw = mapA.containerPointToLayerPoint([x, 0]);
  const se = mapA.containerPointToLayerPoint(size);
  pane.style.clipPath = `polygon(${nw.x}px ${nw.y}px, ${se.x}px ${nw.y}px, ${se.x}px ${se.y}px, ${nw.x}px ${se.y}px)`;
}
mapA.on("move zoom resize zoomend", clipRight);

divider.addEventListener("pointerdown", (down) => {
  down.preventDefault();
  down.stopPropagation();
  mapA.dragging.disable();
  divider.setPointerCapture(down.pointerId);
  const rect = $("map-a").getBoundingClientRect();
  const move = (ev) => {
    state.split = Math.min(0.98, Math.max(0.02, (ev.clientX - rect.left) / rect.width));
    clipRight();
  };
  const up = () => {
    divider.removeEventListener("pointermove", move);
    mapA.dragging.enable();
  };
  divider.addEventListener("pointermove", move);
  divider.addEventListener("pointerup", up, { once: true });
});
L.DomEvent.disableClickPropagation(divider);

function setLayer(map, key, product, pane) {
  const old = state.layers[key];
  if (old) map.removeLayer(old);
  state.layers[key] = null;
  if (!product) return;
  const layer = tileLayer(product, pane);
  const opacityInput = key.endsWith("left") ? $("left-opacity") : key.endsWith("right") ? $("right-opacity") : null;
  if (opacityInput) layer.setOpacity(opacityInput.value / 100);
  layer.addTo(map);
  state.layers[key] = layer;
}

function selected(side) {
  return state.byId.get(Number($(`${side}-product`).value)) ?? null;
}

function render() {
  const backdrop = state.byId.get(Number($("backdrop").value)) ?? null;
  const left = selected("left");
  const right = selected("right");
  setLayer(mapA, "a-backdrop", backdrop, "backdrop");
  setLayer(mapA, "a-left", left, "left");
  if (state.mode === "swipe") {
    setLayer(mapA, "a-right", right, "right");
    setLayer(mapB, "b-backdrop", null);
    setLayer(mapB, "b-right", null);
  } else {
    setLayer(mapA, "a-right", null);
    setLayer(mapB, "b-backdrop", backdrop, "backdrop");
    setLayer(mapB, "b-right", right, "right");
  }
  legend("left", left);
  legend("right", right);
  clipRight();
}

function legend(side, product) {
  const box = $(`legend-${side}`);
  box.innerHTML = "";
  if (!product) return;
  const title = document.createElement("h3");
  title.textContent = `${side === "left" ? "Left" : "Right"}: ${product.name}`;
  box.append(title);
  const list = document.createElement("ul");
  for (const item of product.legend ?? []) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="swatch"></span><span class="name"></span><span class="area"></span>`;
    li.querySelector(".swatch").style.background = item.colour;
    li.querySelector(".name").textContent = `${item.code} ${item.name}`;
    li.querySelector(".area").textContent = `${Number(item.area_ha).toLocaleString("en", { maximumFractionDigits: 1 })} ha`;
    list.append(li);
  }
  if (product.kind === "confidence") list.innerHTML = "<li>top-class probability, 0 % (dark) to 100 % (yellow)</li>";
  box.append(list);
}

function setMode(mode) {
  state.mode = mode;
  $("mode-swipe").setAttribute("aria-pressed", String(mode === "swipe"));
  $("mode-twin").setAttribute("aria-pressed", String(mode === "twin"));
  $("mode-swipe").classList.toggle("primary", mode === "swipe");
  $("mode-twin").classList.toggle("primary", mode === "twin");
  $("map-b").hidden = mode === "swipe";
  divider.hidden = mode !== "swipe";
  mapA.invalidateSize();
  if (mode === "twin") {
    mapB.invalidateSize();
    mapB.setView(mapA.getCenter(), mapA.getZoom(), { animate: false });
    mapA.sync(mapB);
    mapB.sync(mapA);
  } else {
    mapA.unsync(mapB);
    mapB.unsync(mapA);
  }
  render();
}

function classCell(entry) {
  const dd = document.createElement("dd");
  if (!entry) { dd.textContent = "no data"; return dd; }
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = entry.colour ?? "transparent";
  dd.append(swatch, document.createTextNode(`${entry.code} ${entry.name}`));
  return dd;
}

async function inspect(latlng) {
  const ids = ["left", "right"].map((s) => $(`${s}-product`).value).filter(Boolean);
  if (!ids.length) return;
  const box = $("inspector");
  const data = await api(`/api/v1/maps/inspect?products=${ids.join(",")}&lon=${latlng.lng.toFixed(6)}&lat=${latlng.lat.toFixed(6)}`);
  for (const map of [mapA, mapB]) {
    if (state.marker?.[map._leaflet_id]) map.removeLayer(state.marker[map._leaflet_id]);
  }
  state.marker = {};
  for (const map of [mapA, mapB]) {
    state.marker[map._leaflet_id] = L.circleMarker(latlng, { radius: 5, color: "#000", weight: 2, fill: false, pane: "markerPane" }).addTo(map);
  }
  box.innerHTML = `<h3>Pixel ${data.lat.toFixed(5)}, ${data.lon.toFixed(5)}</h3>`;
  const dl = document.createElement("dl");
  data.maps.forEach((m, i) => {
    const dt = document.createElement("dt");
    dt.textContent = m.name;
    dl.append(dt);
    if (m.class !== undefined) {
      const dd = classCell(m.class);
      dd.dataset.side = i === 0 ? "left" : "right";
      dd.classList.add("inspect-class");
      if (m.confidence != null) dd.append(document.createTextNode(` (${Math.round(m.confidence * 100)} %)`));
      dl.append(dd);
    } else {
      const dd = document.createElement("dd");
      dd.textContent = m.confidence != null ? `${Math.round(m.confidence * 100)} %` : m.agree != null ? (m.agree ? "agree" : "disagree") : String(m.value ?? "no data");
      dl.append(dd);
    }
  });
  const rt = document.createElement("dt");
  rt.textContent = "Reference label";
  dl.append(rt, classCell(data.reference));
  box.append(dl);
  if (data.patch) {
    const p = document.createElement("p");
    p.innerHTML = `Patch <a id="patch-link"></a> (${data.patch.status})`;
    const a = p.querySelector("a");
    a.href = data.patch.review_url;
    a.textContent = data.patch.external_id;
    box.append(p);
  }
  ndviChart(box, data.ndvi);
}

function ndviChart(box, series) {
  if (!series?.length || !window.uPlot) return;
  const xs = series.map((d) => Date.parse(d.date) / 1000);
  const ys = series.map((d) => d.ndvi);
  const holder = document.createElement("div");
  holder.className = "ndvi-chart";
  box.append(holder);
  state.plot?.destroy();
  state.plot = new window.uPlot({
    width: 300, height: 160, title: "NDVI",
    scales: { y: { range: [-0.2, 1] } },
    series: [{}, { label: "NDVI", stroke: "#2e7d32", width: 2, spanGaps: true, points: { show: true } }],
  }, [xs, ys], holder);
}

async function compare() {
  const a = $("left-product").value;
  const b = $("right-product").value;
  if (!a || !b) return;
  $("maps-status").textContent = "Comparing…";
  try {
    const product = await api("/api/v1/maps/compare", { method: "POST", json: { a: Number(a), b: Number(b) } });
    const c = product.compare;
    $("maps-status").textContent = `agreement ${(100 * c.agreement).toFixed(1)} % · quantity ${(100 * c.quantity).toFixed(1)} % · allocation ${(100 * c.allocation).toFixed(1)} %`;
    await load(String(product.id));
  } catch (err) {
    $("maps-status").textContent = err.message;
  }
}

async function load(rightId) {
  state.products = await api("/api/v1/maps");
  state.byId = new Map(state.products.map((p) => [p.id, p]));
  const layers = state.products.filter((p) => p.kind !== "composite");
  const composites = state.products.filter((p) => p.kind === "composite")
    .sort((a, b) => Number(b.name.includes("true")) - Number(a.name.includes("true")));
  const keep = { left: $("left-product").value, right: rightId ?? $("right-product").value, backdrop: $("backdrop").value };
  productOptions($("left-product"), layers, "(none)");
  productOptions($("right-product"), layers, "(none)");
  productOptions($("backdrop"), composites, "(no backdrop)");
  const classes = layers.filter((p) => p.kind === "classes");
  const pick = (value, fallback) => (value && state.byId.has(Number(value)) ? value : fallback ? String(fallback.id) : "");
  $("left-product").value = pick(keep.left, classes[1] ?? classes[0] ?? layers[0]);
  $("right-product").value = pick(keep.right, classes[0] ?? layers[1]);
  $("backdrop").value = pick(keep.backdrop, composites[0]);
  if (!state.products.length) {
    $("maps-status").textContent = "No map product yet: predict a map from a finished run, or load the demo.";
    mapA.setView([43.6, 1.44], 10);
    return;
  }
  if (!rightId) {
    const [w, s, e, n] = state.products[0].bounds;
    mapA.fitBounds([[s, w], [n, e]]);
  }
  render();
}

for (const id of ["left-product", "right-product", "backdrop"]) $(id).addEventListener("change", render);
for (const side of ["left", "right"]) {
  $(`${side}-opacity`).addEventListener("input", (ev) => {
    for (const key of [`a-${side}`, `b-${side}`]) state.layers[key]?.setOpacity(ev.target.value / 100);
  });
}
$("mode-swipe").addEventListener("click", () => setMode("swipe"));
$("mode-twin").addEventListener("click", () => setMode("twin"));
$("compare").addEventListener("click", compare);
load().catch((err) => { $("maps-status").textContent = err.message; });
