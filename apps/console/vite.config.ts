import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is served by the API under /console; everything it needs is bundled (no CDN).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
  },
});
