import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// Set by `tauri dev` when developing against a phone/remote device; unset on the desktop.
const host = process.env.TAURI_DEV_HOST;

export default defineConfig({
	plugins: [sveltekit()],
	// Keep Tauri CLI output (Rust errors) visible.
	clearScreen: false,
	server: {
		// tauri.conf.json `build.devUrl` expects exactly this port.
		port: 5173,
		strictPort: true,
		host: host || false,
		hmr: host ? { protocol: 'ws', host, port: 5174 } : undefined,
		watch: {
			// The Rust side lives next to ui/; never let its target/ or sources trigger reloads.
			ignored: ['**/src-tauri/**', '**/target/**']
		}
	},
	// Only these variables are exposed to the webview (import.meta.env).
	envPrefix: ['VITE_', 'TAURI_ENV_*'],
	build: {
		// Tauri uses WebView2 (Chromium) on Windows and WebKit on macOS/Linux (WebKitGTK).
		target: process.env.TAURI_ENV_PLATFORM === 'windows' ? 'chrome105' : 'safari15',
		minify: !process.env.TAURI_ENV_DEBUG,
		sourcemap: !!process.env.TAURI_ENV_DEBUG,
		rolldownOptions: {
			// Rolldown warns when plugin callbacks are slow; on a busy machine (cargo building next door)
			// that is noise, not a problem with the build.
			checks: { bundlerTimings: false }
		}
	},
	// Vitest: Svelte's client runtime (components are mounted in happy-dom, effects run), not its server one.
	resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
	test: {
		include: ['src/**/*.test.ts'],
		environment: 'node'
	}
});
