// The synchronized angle grid. One playhead on the event clock (`t`, seconds); each angle shows
// the frame of its recording at `t - clock_start_s` (the recording's placement, measured offset
// included). Browsers keep no two <video> elements in sync, so this does: while playing, the
// active angle leads and every other angle is pulled to it (a small playbackRate change for a
// small drift, a seek past a few frames); paused, every angle seeks to the middle of its frame,
// so `currentTime` rounding can never show the frame before.
import Hls from "../vendor/hls.js-1.7.4/hls.light.min.mjs";
import { get } from "./api.js";
import { h } from "./dom.js";

const HARD_SYNC_S = 0.2;
// A drift below HARD_SYNC_S is closed by playing that angle faster or slower: the rate moves by
// NUDGE_GAIN times the drift (a 2-frame drift at 25 fps is gone in about a quarter second), never
// by more than MAX_NUDGE.
const NUDGE_GAIN = 4;
const MAX_NUDGE = 0.25;

export class AngleGrid {
  constructor({ grid, fps, span, staff }) {
    this.grid = grid;
    this.fps = fps;
    this.span = span;
    this.staff = staff;
    this.angles = [];
    this.active = null;
    this.t = span.start;
    this.rate = 0;
    this.onTime = () => {};
    this.onActive = () => {};
    this._last = performance.now();
    this._generation = 0;
    this._starting = false;
    this._thumbs = new Map();
    this._gaps = new Map();
    this._loop = this._loop.bind(this);
    requestAnimationFrame(this._loop);
  }

  addAngle({ index, feed, asset, label }) {
    const video = h("video", { preload: "auto", playsinline: true, muted: true, dataset: { feed: feed.name } });
    video.muted = true;
    const blank = h("div", { class: "no-picture", text: "no picture at this moment", hidden: true });
    const tile = h("div", { class: "tile", dataset: { index: String(index), feed: feed.name } }, video, label, blank);
    tile.addEventListener("click", () => this.choose(index));
    this.grid.append(tile);
    const angle = { index, feed, asset, video, tile, blank, start: asset ? asset.clock_start_s : 0, end: asset ? asset.clock_end_s : 0, presented: 0 };
    angle.loaded = new Promise((resolve) => {
      video.addEventListener("loadeddata", resolve, { once: true });
      video.addEventListener("error", resolve, { once: true });
      setTimeout(resolve, 8000);
    });
    this.angles.push(angle);
    this._attach(angle);
    this._watchFrames(angle);
    if (!this.active) this.choose(index);
  }

  _attach(angle) {
    const asset = angle.asset;
    if (!asset) return;
    if (this.staff && asset.proxy_url) {
      angle.video.src = asset.proxy_url; // short-GOP MP4: cheap, exact seeks
      return;
    }
    const url = asset.playlist_url || angle.feed.live_playlist_url;
    if (!url) return;
    if (Hls.isSupported()) {
      // The lowest rung is enough for a grid tile; a growing recording plays at its live edge.
      const hls = new Hls({ startLevel: 0, capLevelToPlayerSize: true, maxBufferLength: 12 });
      hls.loadSource(url);
      hls.attachMedia(angle.video);
      angle.hls = hls;
    } else {
      angle.video.src = url;
    }
  }

  // Counts the frames each angle has put on screen, so "settled" means shown, not just sought.
  _watchFrames(angle) {
    const video = angle.video;
    if (!video.requestVideoFrameCallback) return;
    const seen = (_now, meta) => {
      angle.presented += 1;
      angle.mediaTime = meta.mediaTime;
      video.requestVideoFrameCallback(seen);
    };
    video.requestVideoFrameCallback(seen);
  }

  ready() {
    return Promise.all(this.angles.map((a) => a.loaded));
  }

  choose(index) {
    const angle = this.angles[index];
    if (!angle) return;
    this.active = angle;
    for (const a of this.angles) a.tile.classList.toggle("active", a === angle);
    this.onActive(angle);
  }

  frameTime(t = this.t) {
    return Math.round(t * this.fps) / this.fps;
  }

  _inRange(angle, t) {
    return angle.asset && t >= angle.start - 0.5 / this.fps && t < angle.end;
  }

  _local(angle, t) {
    const frame = Math.round((t - angle.start) * this.fps);
    return (Math.max(0, frame) + 0.5) / this.fps;
  }

  seek(t) {
    this.t = Math.min(Math.max(t, this.span.start), this.span.end);
    if (this.rate === 0) this.t = this.frameTime();
    for (const angle of this.angles) this._place(angle, true);
    this.onTime(this.t);
  }

  _place(angle, exact) {
    const inside = this._inRange(angle, this.t);
    angle.blank.hidden = inside;
    angle.tile.classList.toggle("outside", !inside);
    if (!inside) {
      if (!angle.video.paused) angle.video.pause();
      return;
    }
    const target = exact ? this._local(angle, this.t) : this.t - angle.start;
    if (Math.abs(angle.video.currentTime - target) > 0.25 / this.fps || exact) angle.video.currentTime = target;
  }

  // Every angle seeks to the same instant first and all start together once each has a frame to
  // show: angles started as each seek lands begin several frames apart under load.
  async play(rate = 1) {
    const generation = ++this._generation;
    this.rate = rate;
    this._starting = rate > 0; // the loop leaves the playhead alone until every angle has started
    for (const angle of this.angles) angle.video.pause();
    const inside = this.angles.filter((a) => this._inRange(a, this.t));
    for (const angle of inside) {
      angle.video.currentTime = this.t - angle.start;
      angle.video.playbackRate = rate > 0 ? rate : 1;
    }
    if (rate > 0) await this._ready(inside, 3);
    if (generation !== this._generation) return; // paused or played at another rate meanwhile
    this._starting = false;
    this._last = performance.now();
    if (rate > 0) for (const angle of inside) angle.video.play().catch(() => {});
  }

  // Resolves once every angle given has finished seeking and holds `state` (2: a frame, 3: more).
  async _ready(angles, state, timeoutMs = 3000) {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && angles.some((a) => a.video.seeking || a.video.readyState < state)) {
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  pause() {
    this._generation += 1;
    this._starting = false;
    this.rate = 0;
    for (const angle of this.angles) angle.video.pause();
    this.seek(this.t);
  }

  // Resolves once every angle in range has finished seeking and has a frame to show.
  async settled(timeoutMs = 5000) {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const busy = this.angles.some((a) => this._inRange(a, this.t) && (a.video.seeking || a.video.readyState < 2));
      if (!busy) {
        // Two refreshes, so the frames sought are composited before anyone looks.
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return true;
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    return false;
  }

  _master() {
    const a = this.active;
    return a && this._inRange(a, this.t) && !a.video.paused && a.video.readyState >= 3 ? a : null;
  }

  _loop(now) {
    const elapsed = (now - this._last) / 1000;
    this._last = now;
    if (this.rate > 0 && !this._starting) {
      const master = this._master();
      this.t = master ? master.start + master.video.currentTime : this.t + elapsed * this.rate;
      if (this.t >= this.span.end) this.pause();
      for (const angle of this.angles) {
        if (angle === master) continue;
        const inside = this._inRange(angle, this.t);
        angle.blank.hidden = inside;
        if (!inside) { if (!angle.video.paused) angle.video.pause(); continue; }
        const drift = angle.video.currentTime - (this.t - angle.start);
        if (angle.video.paused) { angle.video.currentTime = this.t - angle.start; angle.video.play().catch(() => {}); continue; }
        if (Math.abs(drift) > HARD_SYNC_S) angle.video.currentTime = this.t - angle.start + 0.03 * this.rate;
        else if (Math.abs(drift) > 0.25 / this.fps) angle.video.playbackRate = this.rate * (1 - Math.max(-MAX_NUDGE, Math.min(MAX_NUDGE, NUDGE_GAIN * drift)));
        else angle.video.playbackRate = this.rate;
      }
      this.onTime(this.t);
    } else if (this.rate < 0) {
      // No browser plays backwards: step back through frames, seeking when the last seek landed.
      this.t = Math.max(this.span.start, this.t + elapsed * this.rate);
      if (this.t <= this.span.start) this.pause();
      for (const angle of this.angles) if (!angle.video.seeking) this._place(angle, true);
      this.onTime(this.t);
    }
    requestAnimationFrame(this._loop);
  }

  async gaps(feed) {
    if (!this._gaps.has(feed.id)) this._gaps.set(feed.id, get(`/v1/feeds/${encodeURIComponent(feed.id)}/gaps`).catch(() => []));
    return this._gaps.get(feed.id);
  }

  // The sprite cell (WebVTT thumbnail track) of the active angle at event time `t`.
  async thumbnailAt(t) {
    const angle = this.active;
    const url = angle && angle.asset && angle.asset.thumbnails_url;
    if (!url) return null;
    if (!this._thumbs.has(url)) this._thumbs.set(url, fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : "")).then((text) => parseVtt(text, url)).catch(() => []));
    const cues = await this._thumbs.get(url);
    const local = t - angle.start;
    return cues.find((c) => c.start <= local && local < c.end) || null;
  }
}

function vttTime(text) {
  const parts = text.trim().split(":").map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

export function parseVtt(text, base) {
  const cues = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^([\d:.]+)\s+-->\s+([\d:.]+)/);
    if (!m || !lines[i + 1]) continue;
    const [ref, frag] = lines[i + 1].trim().split("#xywh=");
    const [x, y, w, hgt] = (frag || "0,0,0,0").split(",").map(Number);
    cues.push({ start: vttTime(m[1]), end: vttTime(m[2]), url: new URL(ref, base).href, x, y, w, h: hgt });
  }
  return cues;
}
