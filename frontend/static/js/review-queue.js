// The annotator's queue on the client: the patches after the one on screen, their details
// and images fetched ahead (new Image() on their immutable URLs), so that moving on shows
// the next patch from the browser cache while the decision is still being saved.
import { api } from "./api.js";
import { patchImageUrls } from "./review-view.js";

const KEEP_IMAGES = 40;

export class Queue {
  constructor() {
    this.details = new Map(); // patch id -> Promise of its detail JSON
    this.upcoming = []; // queue entries after the patch on screen
    this.remaining = 0;
    this.images = []; // keeps prefetching Image objects alive
  }

  /** The detail of a patch (from the cache when prefetched). */
  detail(patchId) {
    if (!this.details.has(patchId)) {
      const promise = api(`/api/v1/patches/${patchId}`);
      promise.catch(() => this.details.delete(patchId));
      this.details.set(patchId, promise);
    }
    return this.details.get(patchId);
  }

  /** Forget a patch's detail (its status or revision changed). */
  forget(patchId) {
    this.details.delete(patchId);
  }

  /** Take in a /review/next answer (or the one written into the page). */
  update(next, shownId = null) {
    this.remaining = next.remaining;
    this.upcoming = [next.current, ...next.upcoming].filter((e) => e && e.patch_id !== shownId);
  }

  /** Ask the server for the queue; `afterPosition` continues after the patch on screen. */
  async fetch(afterPosition) {
    const query = afterPosition === undefined ? "" : `?after_position=${afterPosition}`;
    return api(`/api/v1/review/next${query}`);
  }

  /** The next entry to show, taken off the local list (null when none is known). */
  take() {
    return this.upcoming.shift() ?? null;
  }

  /** Fetch the upcoming patches' details and images of the view in use. */
  async prefetch(view) {
    for (const entry of this.upcoming) {
      const detail = await this.detail(entry.patch_id);
      for (const url of patchImageUrls(detail, detail.default_date, view)) {
        const img = new Image();
        img.src = url;
        this.images.push(img);
      }
    }
    this.images.splice(0, Math.max(0, this.images.length - KEEP_IMAGES));
  }
}
