// The overlay picker of the review page: the label revision, the reference labels, or a
// trained run's prediction for the patch, with the share of the label it agrees with.
// Where a model trained on many patches disagrees with the label, the label is worth a
// second look. The overlay's opacity and the 'o' toggle apply to whichever is chosen.
import { api } from "./api.js";
import { fill } from "./review-view.js";

const $ = (id) => document.getElementById(id);
const LABEL = "label";
const REFERENCE = "reference";

export class OverlayPicker {
  constructor(view, { onError }) {
    this.view = view;
    this.onError = onError;
    this.runs = [];
    this.select = $("overlay-select");
    this.select.addEventListener("change", () => {
      this.choose(this.select.value);
      this.select.blur(); // give the keys back to the page
    });
    // The reference checkbox picks between the label and the reference: leave any run.
    $("toggle-reference").addEventListener("change", (event) => {
      this.view.run = null;
      this.select.value = event.target.checked && this.#has(REFERENCE) ? REFERENCE : LABEL;
      this.#agreement();
    });
    api("/api/v1/runs/predictable").then((runs) => {
      this.runs = runs;
      if (this.view.detail) this.patchShown(this.view.detail);
    }, onError);
  }

  /** Rebuild the choices for a newly shown patch, keeping the current one when it applies. */
  patchShown(detail) {
    const current = this.select.value || LABEL;
    const options = [[LABEL, "label revision"]];
    if (detail.has_reference) options.push([REFERENCE, "reference"]);
    for (const run of this.runs) options.push([`run:${run.id}`, `${run.kind} · ${run.name}`]);
    this.select.replaceChildren(
      ...options.map(([value, text]) => Object.assign(document.createElement("option"), { value, text })),
    );
    if (this.#has(current)) {
      this.select.value = current;
      this.#agreement();
    } else {
      this.choose(LABEL);
    }
  }

  /** Show one overlay: "label", "reference" or "run:<id>". */
  choose(value) {
    this.select.value = value;
    this.view.run = value.startsWith("run:") ? Number(value.slice(4)) : null;
    this.view.reference = value === REFERENCE;
    this.view.overlay = true;
    this.view.render();
    this.#agreement();
  }

  /** The next overlay in the list (key m). */
  cycle() {
    const values = [...this.select.options].map((o) => o.value);
    this.choose(values[(values.indexOf(this.select.value) + 1) % values.length]);
  }

  #has(value) {
    return [...this.select.options].some((o) => o.value === value);
  }

  #agreement() {
    const el = $("overlay-agreement");
    const { detail, run } = this.view;
    el.textContent = "";
    if (run == null || !detail) return;
    api(fill(detail.urls.agreement, { run })).then((body) => {
      if (this.view.detail !== detail || this.view.run !== run) return;
      el.textContent = body.agreement == null
        ? "no judged pixel"
        : `${Math.round(body.agreement * 100)}% agree with the label`;
    }, this.onError);
  }
}
