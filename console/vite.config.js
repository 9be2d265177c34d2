import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The gateway serves the build at /console/ (hashed names under assets/ are cached for a year).
export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Element Plus and ECharts are large libraries; each page is its own chunk.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000', '/files': 'http://127.0.0.1:8000' },
  },
})
