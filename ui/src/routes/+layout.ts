// Tauri serves a static bundle and has no server: render everything on the client.
// See https://v2.tauri.app/start/frontend/sveltekit/
export const ssr = false;
export const prerender = false;
