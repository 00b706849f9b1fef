import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is served by the API under /console; everything it needs is bundled (no CDN).
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  // The console uses the platform's own client SDK (and its contract types), from source.
  resolve: {
    alias: {
      '#libs/client': fileURLToPath(new URL('../../libs/client/src/index.ts', import.meta.url)),
      '#libs/contracts': fileURLToPath(new URL('../../libs/contracts/src/index.ts', import.meta.url)),
    },
  },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
  },
});
