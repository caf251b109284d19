// Copies (and where needed bundles) the npm front-end libraries into static/vendor,
// so that every page works with no internet access.
import { build } from "esbuild";
import { cpSync, mkdirSync } from "node:fs";

const out = "frontend/static/vendor";
mkdirSync(`${out}/uplot`, { recursive: true });

cpSync("node_modules/leaflet/dist", `${out}/leaflet`, { recursive: true });
cpSync("node_modules/uplot/dist/uPlot.iife.min.js", `${out}/uplot/uPlot.iife.min.js`);
cpSync("node_modules/uplot/dist/uPlot.min.css", `${out}/uplot/uPlot.min.css`);

// leaflet.sync expects a global L: bundle it as an IIFE that attaches to the page's Leaflet.
await build({
  entryPoints: ["node_modules/leaflet.sync/L.Map.Sync.js"],
  bundle: true,
  minify: true,
  format: "iife",
  outfile: `${out}/leaflet-sync/leaflet-sync.js`,
  external: ["leaflet"],
  logLevel: "warning",
});
console.log(`front-end libraries copied to ${out}`);
