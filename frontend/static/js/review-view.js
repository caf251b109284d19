// Drawing one patch on the review page: the image of a date in a view, its cloud mask, the
// label overlay, the strip of date thumbnails, the legend and the history. Every image URL
// names its date, view or label revision, so the browser caches them for good and the
// prefetched ones show at once.

export const VIEWS = ["true", "false", "ndvi"];
const STRIP_SIZE = 48;
const $ = (id) => document.getElementById(id);

export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
}

/** The image URLs one view of a patch loads (what the page prefetches). */
export function patchImageUrls(detail, date, view) {
  const urls = [
    fill(detail.urls.image, { date, view }),
    fill(detail.urls.clouds, { date }),
    fill(detail.urls.strip, { view }) + `?size=${STRIP_SIZE}`,
  ];
  if (detail.urls.label) urls.push(detail.urls.label);
  return urls;
}

export class PatchView {
  constructor({ onDate, onLegendClick }) {
    this.onDate = onDate;
    this.onLegendClick = onLegendClick;
    this.detail = null;
    this.date = 0;
    this.view = "true";
    this.overlay = true;
    this.clouds = true;
    this.reference = false;
    this.run = null; // a run id: its prediction is the overlay (review-overlays.js)
    this.opacity = 0.5;
  }

  show(detail, { date } = {}) {
    this.detail = detail;
    this.date = date ?? detail.default_date;
    $("patch-title").textContent = `Patch ${detail.external_id}`;
    this.setStatus(detail.status);
    $("patch-meta").textContent =
      `#${detail.id} · ${detail.dataset} · ${detail.height}×${detail.width} px · ` +
      `${detail.dates.length} dates · label v${detail.revision?.version ?? "–"}`;
    $("patch-link").href = `/patches/${detail.id}`;
    const stage = $("stage");
    stage.style.aspectRatio = `${detail.width} / ${detail.height}`;
    $("reference-toggle").hidden = !detail.has_reference;
    this.#legend();
    this.#strip();
    this.render();
  }

  setStatus(status) {
    const el = $("patch-status");
    el.textContent = status;
    el.className = `status status-${status}`;
  }

  render() {
    const d = this.detail;
    if (!d) return;
    $("img-base").src = fill(d.urls.image, { date: this.date, view: this.view });
    const clouds = $("img-clouds");
    clouds.src = fill(d.urls.clouds, { date: this.date });
    clouds.hidden = !this.clouds;
    const label = $("img-label");
    let labelUrl = this.reference && d.has_reference ? d.urls.reference : d.urls.label;
    if (this.run != null) labelUrl = fill(d.urls.prediction, { run: this.run });
    if (labelUrl) label.src = labelUrl;
    label.hidden = !this.overlay || !labelUrl;
    label.style.opacity = this.opacity;
    $("editor-canvas").style.opacity = Math.max(this.opacity, 0.3);
    $("opacity").value = Math.round(this.opacity * 100);
    $("toggle-label").checked = this.overlay;
    $("toggle-clouds").checked = this.clouds;
    $("toggle-reference").checked = this.reference;
    const cloud = Math.round(100 * d.cloud_fraction[this.date]);
    $("date-label").textContent = `${d.dates[this.date]} (${this.date + 1}/${d.dates.length}, ${cloud}% cloud)`;
    for (const b of document.querySelectorAll("[data-view]")) {
      b.classList.toggle("selected", b.dataset.view === this.view);
    }
    const strip = $("strip");
    const stripUrl = `url("${fill(d.urls.strip, { view: this.view })}?size=${STRIP_SIZE}")`;
    for (const [t, thumb] of [...strip.children].entries()) {
      thumb.classList.toggle("selected", t === this.date);
      thumb.querySelector(".thumb").style.backgroundImage = stripUrl;
    }
    strip.children[this.date]?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  renderHistory(history) {
    const list = $("history");
    list.replaceChildren();
    const items = [...history.decisions].reverse().slice(0, 10);
    for (const d of items) {
      const li = document.createElement("li");
      li.className = d.undone ? "undone" : "";
      const when = new Date(d.created_at).toLocaleString();
      const extra = [
        d.confidence ? `confidence ${d.confidence}` : "",
        d.time_spent_ms != null ? `${(d.time_spent_ms / 1000).toFixed(1)} s` : "",
        d.view ? `${d.view} ${d.date_shown ?? ""}` : "",
        d.new_revision_id ? `→ revision ${d.new_revision_id}` : "",
      ].filter(Boolean).join(" · ");
      li.innerHTML = `<b></b> <span class="kind"></span> <small class="muted"></small><div class="comment"></div>`;
      li.querySelector("b").textContent = d.user;
      li.querySelector(".kind").textContent = d.kind + (d.undone ? " (undone)" : "");
      li.querySelector("small").textContent = `${when}${extra ? " · " + extra : ""}`;
      li.querySelector(".comment").textContent = d.comment;
      list.append(li);
    }
    if (!items.length) list.innerHTML = `<li class="muted">No decision yet.</li>`;
    const revs = history.revisions.map((r) => `v${r.version} ${r.source}${r.author ? " by " + r.author : ""}`);
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = `Revisions: ${revs.join(", ")}`;
    list.append(li);
  }

  #legend() {
    const list = $("legend");
    list.replaceChildren();
    $("legend-name").textContent = this.detail.nomenclature;
    let key = 0;
    for (const c of this.detail.legend) {
      const li = document.createElement("li");
      li.dataset.code = c.code;
      if (!c.ignore && key < 9) li.dataset.key = String(++key);
      li.innerHTML = `<span class="swatch"></span><span class="name"></span><kbd></kbd>`;
      li.querySelector(".swatch").style.background = c.colour;
      li.querySelector(".name").textContent = `${c.code} ${c.name}`;
      li.querySelector("kbd").textContent = li.dataset.key ?? "";
      li.addEventListener("click", () => this.onLegendClick(c.code));
      list.append(li);
    }
  }

  #strip() {
    const strip = $("strip");
    strip.replaceChildren();
    const d = this.detail;
    d.dates.forEach((date, t) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "date";
      button.title = `${date} (${Math.round(100 * d.cloud_fraction[t])}% cloud)`;
      button.innerHTML = `<span class="thumb"></span><span class="cloudbar"><span></span></span><small></small>`;
      const thumb = button.querySelector(".thumb");
      thumb.style.backgroundSize = `${STRIP_SIZE * d.dates.length}px ${STRIP_SIZE}px`;
      thumb.style.backgroundPosition = `-${STRIP_SIZE * t}px 0`;
      button.querySelector(".cloudbar span").style.width = `${100 * d.cloud_fraction[t]}%`;
      button.querySelector("small").textContent = date.slice(5);
      button.addEventListener("click", () => this.onDate(t));
      strip.append(button);
    });
  }
}
