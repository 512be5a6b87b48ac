import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API and /ws to a running `make run` (port 8080).
const target = process.env.HYDRA_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/api': target,
      '/ws': { target, ws: true },
    },
  },
  test: {
    include: ['test/**/*.test.js'],
    environment: 'node',
  },
});
