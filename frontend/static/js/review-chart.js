// A pixel's time series as the photo-interpreter reads it: NDVI on clear dates (line),
// NDVI on cloudy dates (hollow points, not to be trusted), and the band reflectances on a
// second axis (B2 B3 B4 B8 shown, the others one click away in the legend). uPlot is the
// vendored IIFE build (global `uPlot`).
import { api } from "./api.js";
import { fill } from "./review-view.js";

const $ = (id) => document.getElementById(id);

const SHOWN_BANDS = new Set(["B2", "B3", "B4", "B8"]);
const BAND_COLOURS = {
  B2: "#1f5fae", B3: "#2e8b57", B4: "#c0392b", B5: "#d35400", B6: "#e67e22", B7: "#f39c12",
  B8: "#8e44ad", B8A: "#9b59b6", B11: "#7f8c8d", B12: "#34495e",
};

export class PixelChart {
  constructor(container) {
    this.container = container;
    this.plot = null;
  }

  /** Draw the series of /api/v1/patches/{id}/pixel; `dateIndex` is marked. */
  show(series, dateIndex) {
    const xs = series.dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const clear = series.ndvi.map((v, i) => (series.cloud[i] === 0 ? v : null));
    const cloudy = series.ndvi.map((v, i) => (series.cloud[i] !== 0 ? v : null));
    const bands = Object.keys(series.bands);
    const data = [
      xs, clear, cloudy,
      ...bands.map((b) => series.bands[b].map((v) => (v === null ? null : v / 10000))),
    ];
    const opts = {
      width: Math.max(280, this.container.clientWidth - 8),
      height: 220,
      scales: { x: { time: true }, ndvi: { range: [-0.2, 1] }, refl: { range: [0, 0.6] } },
      axes: [
        {},
        { scale: "ndvi", label: "NDVI", size: 44 },
        { scale: "refl", side: 1, label: "reflectance", grid: { show: false }, size: 44 },
      ],
      series: [
        { value: (_u, v) => (v == null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
        { label: "NDVI", scale: "ndvi", stroke: "#0b6e4f", width: 2, spanGaps: true,
          points: { show: true, size: 6 } },
        { label: "NDVI (cloudy)", scale: "ndvi", stroke: "#999", width: 0,
          points: { show: true, size: 7, fill: "#fff" } },
        ...bands.map((b) => ({
          label: b, scale: "refl", stroke: BAND_COLOURS[b] ?? "#555", width: 1, dash: [4, 3],
          show: SHOWN_BANDS.has(b), spanGaps: true,
        })),
      ],
      hooks: { draw: [(u) => this.#markDate(u, xs[dateIndex])] },
    };
    this.plot?.destroy();
    this.container.replaceChildren();
    this.plot = new uPlot(opts, data, this.container);
  }

  /** Mark pixel (row, col) of the patch on screen, fetch its series and draw it. */
  async showPixel(view, row, col) {
    const detail = view.detail;
    const marker = $("pixel-marker");
    marker.hidden = false;
    marker.style.left = `${(100 * (col + 0.5)) / detail.width}%`;
    marker.style.top = `${(100 * (row + 0.5)) / detail.height}%`;
    const series = await api(fill(detail.urls.pixel, { row, col }));
    if (view.detail !== detail) return;
    const ref = series.reference !== null ? ` · reference ${series.reference}` : "";
    const name = series.label_name ?? "";
    $("pixel-info").textContent = `row ${row}, col ${col} · label ${series.label} ${name}${ref}`;
    this.show(series, view.date);
  }

  clear() {
    this.plot?.destroy();
    this.plot = null;
    this.container.replaceChildren();
    $("pixel-marker").hidden = true;
    $("pixel-info").textContent = "click the image";
  }

  #markDate(u, x) {
    if (x === undefined) return;
    const left = u.valToPos(x, "x", true);
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = "rgba(200, 40, 40, .6)";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(left, bbox.top);
    ctx.lineTo(left, bbox.top + bbox.height);
    ctx.stroke();
    ctx.restore();
  }
}
