import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Tauri shell loads the dev server at http://localhost:1420 (tauri.conf.json devUrl) and
// the built files from ui/dist (frontendDist). Nothing here reaches the network.
export default defineConfig({
  root: '.',
  base: './',
  plugins: [svelte()],
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    host: 'localhost',
    watch: { ignored: ['**/node_modules/**', '**/dist/**'] },
  },
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // WebKitGTK / WebView2 of the supported platforms; no legacy transforms needed.
    target: 'es2022',
    sourcemap: false,
    // Everything is self-contained (strict CSP: default-src 'self'): no inlined data: assets.
    assetsInlineLimit: 0,
  },
  test: {
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test-setup.ts'],
    environment: 'node',
  },
});
