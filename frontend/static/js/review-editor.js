// Raster-native correction of a dense label mask: the mask is a Uint8Array of class codes
// drawn on a canvas at native resolution (CSS enlarges it, pixelated). Brush and flood
// fill change codes directly; nothing is ever turned into vector shapes, so a 10,000-pixel
// mask edits as fast as a 100-pixel one. Undo/redo keep whole snapshots (a patch mask is a
// few kilobytes).

const HISTORY_LIMIT = 100;

export class MaskEditor {
  constructor(canvas, { onChange = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.tool = "brush";
    this.size = 2;
    this.code = null;
    this.active = false;
    this.drawing = false;
    this.canvas.addEventListener("pointerdown", (e) => this.#down(e));
    this.canvas.addEventListener("pointermove", (e) => this.#move(e));
    for (const type of ["pointerup", "pointerleave", "pointercancel"]) {
      this.canvas.addEventListener(type, () => { this.drawing = false; });
    }
  }

  /** Start editing `labels` (copied) of a width x height patch, coloured by `legend`. */
  start(labels, width, height, legend) {
    this.width = width;
    this.height = height;
    this.labels = new Uint8Array(labels);
    this.original = new Uint8Array(labels);
    this.undoStack = [];
    this.redoStack = [];
    this.table = colourTable(legend);
    this.canvas.width = width;
    this.canvas.height = height;
    this.image = this.ctx.createImageData(width, height);
    this.active = true;
    if (this.code === null) this.code = legend.find((c) => !c.ignore)?.code ?? 0;
    this.redraw();
  }

  stop() {
    this.active = false;
    this.drawing = false;
  }

  get dirty() {
    return this.active && this.labels.some((v, i) => v !== this.original[i]);
  }

  setTool(tool) { this.tool = tool; this.onChange(); }
  setSize(size) { this.size = Math.max(1, Math.min(9, size)); this.onChange(); }
  setClass(code) { this.code = code; this.onChange(); }

  undo() { this.#swap(this.undoStack, this.redoStack); }
  redo() { this.#swap(this.redoStack, this.undoStack); }

  /** Paint a disk of the brush size centred on pixel (x, y). */
  paint(x, y) {
    const r = this.size / 2;
    const reach = Math.floor(r);
    for (let dy = -reach; dy <= reach; dy++) {
      for (let dx = -reach; dx <= reach; dx++) {
        if (dx * dx + dy * dy > r * r && !(dx === 0 && dy === 0)) continue;
        const px = x + dx;
        const py = y + dy;
        if (px >= 0 && py >= 0 && px < this.width && py < this.height) {
          this.labels[py * this.width + px] = this.code;
        }
      }
    }
  }

  /** Give the 4-connected region of pixel (x, y)'s class the chosen class. */
  fill(x, y) {
    const { width, height, labels } = this;
    const from = labels[y * width + x];
    if (from === this.code) return;
    const stack = [y * width + x];
    while (stack.length) {
      const i = stack.pop();
      if (labels[i] !== from) continue;
      labels[i] = this.code;
      const px = i % width;
      if (px > 0) stack.push(i - 1);
      if (px < width - 1) stack.push(i + 1);
      if (i >= width) stack.push(i - width);
      if (i < width * (height - 1)) stack.push(i + width);
    }
  }

  redraw() {
    const data = this.image.data;
    for (let i = 0; i < this.labels.length; i++) {
      const c = this.labels[i] * 4;
      data.set(this.table.subarray(c, c + 4), i * 4);
    }
    this.ctx.putImageData(this.image, 0, 0);
  }

  pixelAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.floor(((event.clientX - rect.left) / rect.width) * this.width);
    const y = Math.floor(((event.clientY - rect.top) / rect.height) * this.height);
    return [Math.max(0, Math.min(this.width - 1, x)), Math.max(0, Math.min(this.height - 1, y))];
  }

  #snapshot() {
    this.undoStack.push(new Uint8Array(this.labels));
    if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    this.redoStack = [];
  }

  #swap(from, to) {
    if (!this.active || !from.length) return;
    to.push(new Uint8Array(this.labels));
    this.labels = from.pop();
    this.redraw();
    this.onChange();
  }

  #down(event) {
    if (!this.active || event.button !== 0) return;
    event.preventDefault();
    this.canvas.setPointerCapture?.(event.pointerId);
    this.#snapshot();
    const [x, y] = this.pixelAt(event);
    if (this.tool === "fill") {
      this.fill(x, y);
    } else {
      this.drawing = true;
      this.last = [x, y];
      this.paint(x, y);
    }
    this.redraw();
    this.onChange();
  }

  #move(event) {
    if (!this.drawing) return;
    const [x, y] = this.pixelAt(event);
    const [x0, y0] = this.last;
    const steps = Math.max(Math.abs(x - x0), Math.abs(y - y0), 1);
    for (let s = 1; s <= steps; s++) {
      this.paint(Math.round(x0 + ((x - x0) * s) / steps), Math.round(y0 + ((y - y0) * s) / steps));
    }
    this.last = [x, y];
    this.redraw();
  }
}

/** RGBA per class code (256 x 4), ignored classes transparent. */
export function colourTable(legend) {
  const table = new Uint8ClampedArray(256 * 4);
  for (const c of legend) {
    const hex = c.colour.replace("#", "");
    table.set(
      [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16), parseInt(hex.slice(4, 6), 16),
        c.ignore ? 0 : 255],
      c.code * 4,
    );
  }
  return table;
}
