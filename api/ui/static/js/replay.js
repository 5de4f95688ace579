// A replay: its job's progress while it runs, then every output playing in the page, the
// manifest (sources, frame ranges, checksums) and the bundle to download.
import { get } from "./api.js";
import { h, clear, timecode } from "./dom.js";

const DONE = ["succeeded", "failed", "dead"];

export async function showReplay(ctx, replayId) {
  const { app } = ctx;
  let replay = await get(`/v1/replays/${encodeURIComponent(replayId)}`);
  const bar = h("progress", { max: "1", value: String(replay.progress), id: "replay-progress" });
  const state = h("span", { class: "state", id: "replay-status", text: replay.status });
  const outputs = h("div", { class: "outputs", id: "outputs" });
  const manifest = h("pre", { class: "manifest", id: "manifest" });
  const links = h("p", { class: "downloads" });
  clear(app).append(h("section", { class: "replay-page" },
    h("h1", { text: `${replay.kind} replay · ${timecode(replay.start_s)} – ${timecode(replay.end_s)}` }),
    h("p", {}, h("a", { href: `/events/${encodeURIComponent(replay.event_id)}?t=${replay.start_s}`, "data-internal": true, text: "Open the event at this moment" })),
    h("div", { class: "job" }, bar, state), links, outputs, h("h2", { text: "Manifest" }), manifest));

  while (!DONE.includes(replay.status)) {
    await new Promise((r) => setTimeout(r, 700));
    if (!document.body.contains(bar)) return;
    replay = await get(`/v1/replays/${encodeURIComponent(replayId)}`);
    bar.value = replay.progress;
    state.textContent = replay.status;
  }
  state.textContent = replay.status + (replay.error ? `: ${replay.error}` : "");
  if (replay.status !== "succeeded") return;
  for (const out of replay.outputs) {
    if (!out.url) continue;
    const isVideo = /\.(mp4|mov|m4v)$/i.test(out.name);
    outputs.append(h("figure", { class: "output", dataset: { name: out.name } },
      isVideo ? h("video", { src: out.url, controls: true, muted: true, preload: "auto", playsinline: true }) : null,
      // An angle's file is named by its feed's id; the editor reads the camera's name.
      h("figcaption", {}, h("strong", { text: out.feed || out.name }), ` ${out.kind} · ${out.frames} frames · `,
        h("a", { href: out.url, download: out.name, text: "download" }))));
  }
  const bundle = replay.package_url || replay.download_url;
  if (bundle) links.append(h("a", { href: bundle, id: "bundle", download: `replay-${replay.id}.zip`, text: "Download the bundle (every output and the manifest)" }));
  if (replay.manifest_url) {
    try {
      const answer = await fetch(replay.manifest_url);
      manifest.textContent = JSON.stringify(await answer.json(), null, 2);
    } catch (err) {
      manifest.textContent = `The manifest could not be read: ${err.message}`;
    }
  }
}
