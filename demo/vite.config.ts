import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";
import { sourceAliases } from "../scripts/package-entries.js";

/** The demo page: built into demo/dist and served by demo/server.ts. */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  plugins: [react()],
  resolve: {
    // The page imports the package by its public names, as an app would; in this repo they are the sources.
    alias: sourceAliases(new URL("../", import.meta.url)),
  },
  build: {
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
  },
  logLevel: "warn",
});
