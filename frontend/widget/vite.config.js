import { defineConfig } from "vite";

// One self-contained IIFE with a fixed name: site owners paste a <script> tag that points at it,
// and the built file is committed so a Python-only install needs no Node.
export default defineConfig({
  build: {
    outDir: "../../static/switchboard",
    emptyOutDir: false, // other bundles (the flow builder) live next to it
    minify: "esbuild",
    target: "es2019",
    lib: { entry: "src/main.js", formats: ["iife"], name: "SwitchboardWidget", fileName: () => "widget.js" },
  },
});
