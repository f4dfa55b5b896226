import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Fixed file names: the Django template links them directly and the built files are committed.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../../static/switchboard/builder",
    emptyOutDir: true,
    cssCodeSplit: false,
    rollupOptions: {
      input: "src/main.jsx",
      output: { entryFileNames: "builder.js", assetFileNames: "builder[extname]", inlineDynamicImports: true },
    },
  },
});
