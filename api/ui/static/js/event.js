// The event page: every feed in a synchronized 2x2/3x3 grid on the event clock, transport keys
// (Space, J/K/L, arrows), I/O marks, a timeline with thumbnails, gaps and markers, and orders.
import { get, post } from "./api.js";
import { h, clear, timecode } from "./dom.js";
import { AngleGrid } from "./player.js";

// A growing recording opens this far behind its newest picture: about one live segment, so the
// edge is buffered when playback starts. While it grows, the page asks for the event this often.
const LIVE_EDGE_S = 3;
const LIVE_REFRESH_MS = 2000;
const KEYS_HELP = "Space play/pause · J/K/L reverse/pause/forward (again: faster) · ←/→ one frame · Shift+←/→ one second · 1-9 angle · I/O in/out · M marker · [ ] previous/next marker";

function rate(value) {
  if (!value) return 25;
  const [num, den] = String(value).split("/").map(Number);
  return den ? num / den : num;
}

// Each feed's recording that the grid plays: the first one ready, the one covering `t` if any.
function recordingFor(feed, t) {
  const ready = feed.assets.filter((a) => a.status === "ready" || a.status === "recording" || a.proxy_url || a.playlist_url);
  return ready.find((a) => a.clock_start_s <= t && t < a.clock_end_s) || ready[0] || null;
}

function syncBadge(feed) {
  if (!feed.clock_method) {
    return h("span", { class: "sync warn", title: "Placed from its own clock only; never measured against the others", text: "never synced" });
  }
  const confidence = feed.clock_confidence === null || feed.clock_confidence === undefined ? "" : ` · ${(feed.clock_confidence * 100).toFixed(0)}%`;
  const offset = `${feed.clock_offset_s >= 0 ? "+" : ""}${feed.clock_offset_s.toFixed(3)} s`;
  const weak = feed.clock_confidence !== null && feed.clock_confidence < 0.5;
  return h("span", { class: weak ? "sync warn" : "sync", title: `measured offset ${offset} by ${feed.clock_method}`, text: `${offset} ${feed.clock_method}${confidence}` });
}

export async function showEvent(ctx, eventId, params) {
  const { app, me, navigate } = ctx;
  const event = await get(`/v1/events/${encodeURIComponent(eventId)}`);
  const markers = await get(`/v1/events/${encodeURIComponent(eventId)}/markers`).catch(() => []);
  const feeds = event.feeds.filter((f) => f.assets.length || f.live_playlist_url);
  const startT = Number(params.get("t") || NaN);
  const first = feeds.map((f) => recordingFor(f, Number.isFinite(startT) ? startT : 0)).filter(Boolean);
  const fps = first.length ? rate(first[0].frame_rate) : 25;
  const span = {
    start: Math.min(...feeds.flatMap((f) => f.assets.map((a) => a.clock_start_s)), 0),
    end: Math.max(...feeds.flatMap((f) => f.assets.map((a) => a.clock_end_s)), 1),
  };

  const tc = h("output", { class: "timecode", id: "timecode", text: timecode(0, fps) });
  const frameNo = h("output", { class: "frame", id: "frame" });
  const transport = h("output", { class: "transport", id: "transport", text: "paused" });
  const grid = h("div", { class: `grid n${Math.min(9, Math.max(1, feeds.length)) > 4 ? 9 : 4}`, id: "grid" });
  const timeline = h("div", { class: "timeline", id: "timeline", tabindex: "-1" });
  const inOut = h("output", { class: "inout", id: "inout", text: "no range: I and O mark it" });
  const orders = h("ul", { class: "orders", id: "orders" });
  const rightsNote = h("p", { class: "rights", id: "rights" });
  const clearanceNote = h("div", { class: "clearance", id: "clearance", hidden: true });
  const seqNote = h("p", { class: "sequence", id: "sequence" });
  const markerList = h("ul", { class: "markers", id: "markers" });
  const buttons = {
    angles: h("button", { type: "button", id: "order-angles", text: "Order angles" }),
    mosaic: h("button", { type: "button", id: "order-mosaic", text: "Order mosaic" }),
    sweep: h("button", { type: "button", id: "order-sweep", text: "Order 360 sweep at playhead" }),
    sequence: h("button", { type: "button", id: "record-sequence", text: "Record sequence (1-9 while playing I→O)" }),
  };

  clear(app).append(
    h("section", { class: "event-page" },
      h("header", { class: "event-head" },
        h("h1", { text: event.name }),
        h("span", { class: "meta", text: [event.sport, event.venue].filter(Boolean).join(" · ") }),
        h("span", { class: "keys", text: KEYS_HELP })),
      h("div", { class: "event-body" },
        h("div", { class: "viewer" }, grid,
          h("div", { class: "readout" }, tc, frameNo, transport, inOut),
          timeline),
        h("aside", { class: "side" },
          h("h2", { text: "Clip" }), clearanceNote, rightsNote,
          h("div", { class: "order-buttons" }, ...Object.values(buttons)), seqNote,
          h("h2", { text: "Orders" }), orders,
          h("h2", { text: "Markers" }), markerList))));

  if (!feeds.length) {
    grid.append(h("p", { class: "empty", text: "This event has no recordings yet." }));
    return;
  }

  const player = new AngleGrid({ grid, fps, span, staff: !me || me.role !== "broadcaster" });
  const liveBadges = new Map(); // feed id -> its LIVE badge, refreshed while recordings grow
  feeds.forEach((feed, i) => {
    const asset = recordingFor(feed, Number.isFinite(startT) ? startT : span.start);
    player.addAngle({
      index: i, feed, asset,
      label: h("div", { class: "label" },
        h("span", { class: "key", text: String(i + 1) }),
        h("span", { class: "name", text: feed.name }),
        syncBadge(feed),
        liveBadge(feed, liveBadges)),
    });
  });

  // -- timeline: span, gaps between recordings, markers, in/out, playhead, hover thumbnails --
  const lane = h("div", { class: "lane" });
  const head = h("div", { class: "playhead", id: "playhead" });
  const range = h("div", { class: "range", hidden: true });
  const hover = h("div", { class: "hover", hidden: true }, h("div", { class: "thumb" }), h("span"));
  const markerLane = h("div", { class: "marker-lane", id: "marker-lane" });
  timeline.append(lane, markerLane, range, head, hover);
  const x = (t) => `${(100 * (t - span.start)) / (span.end - span.start)}%`;
  const tAt = (ev) => {
    const box = timeline.getBoundingClientRect();
    return span.start + ((ev.clientX - box.left) / box.width) * (span.end - span.start);
  };
  // Recorded pieces of the active angle; the holes between them are gaps.
  const drawLane = () => {
    clear(lane);
    const feed = player.active?.feed;
    if (!feed) return;
    for (const a of feed.assets) lane.append(h("div", { class: "piece", style: `left:${x(a.clock_start_s)};width:calc(${x(a.clock_end_s)} - ${x(a.clock_start_s)})` }));
    player.gaps(feed).then((gaps) => {
      for (const g of gaps) lane.append(h("div", { class: "gap", title: g.reason || "gap", style: `left:${x(g.clock_start_s)};width:calc(${x(g.clock_end_s)} - ${x(g.clock_start_s)})` }));
    });
  };
  const drawMarkers = () => {
    clear(markerLane);
    clear(markerList);
    for (const m of [...markers].sort((a, b) => a.clock_s - b.clock_s)) {
      markerLane.append(h("button", { type: "button", class: "marker", style: `left:${x(m.clock_s)}`, title: m.label, onclick: () => player.seek(m.clock_s) }));
      markerList.append(h("li", {}, h("button", { type: "button", class: "link", onclick: () => player.seek(m.clock_s) },
        h("span", { class: "clock", text: timecode(m.clock_s, fps) }), " ", h("span", { class: "label-text", text: m.label }),
        m.tags.length ? h("span", { class: "tags", text: ` ${m.tags.join(" · ")}` }) : null,
        m.athletes.length ? h("span", { class: "athletes", text: ` ${m.athletes.join(", ")}` }) : null)));
    }
  };
  drawMarkers();
  timeline.addEventListener("click", (ev) => { if (!ev.target.classList.contains("marker")) player.seek(tAt(ev)); });
  timeline.addEventListener("mousemove", async (ev) => {
    const t = tAt(ev);
    hover.hidden = false;
    hover.style.left = x(t);
    hover.querySelector("span").textContent = timecode(t, fps);
    const still = await player.thumbnailAt(t);
    const thumb = hover.querySelector(".thumb");
    if (still) {
      thumb.style.backgroundImage = `url("${still.url}")`;
      thumb.style.backgroundPosition = `-${still.x}px -${still.y}px`;
      thumb.style.width = `${still.w}px`;
      thumb.style.height = `${still.h}px`;
      thumb.hidden = false;
    } else thumb.hidden = true;
  });
  timeline.addEventListener("mouseleave", () => { hover.hidden = true; });

  // -- clip marks and orders --
  let mark = { in: null, out: null };
  const drawRange = () => {
    if (mark.in === null && mark.out === null) return;
    const a = mark.in ?? span.start;
    const b = mark.out ?? a;
    range.hidden = false;
    range.style.left = x(Math.min(a, b));
    range.style.width = `calc(${x(Math.max(a, b))} - ${x(Math.min(a, b))})`;
    const frames = mark.in !== null && mark.out !== null ? Math.round((mark.out - mark.in) * fps) : null;
    inOut.textContent = `IN ${mark.in === null ? "--" : timecode(mark.in, fps)} · OUT ${mark.out === null ? "--" : timecode(mark.out, fps)}${frames === null ? "" : ` · ${frames} frames (${(frames / fps).toFixed(2)} s)`}`;
    inOut.dataset.in = mark.in ?? "";
    inOut.dataset.out = mark.out ?? "";
    checkClearance();
  };
  // May this range be used now, and if not why: the API's own decision, asked whenever I/O move.
  let asked = 0;
  let askedFor = "";
  const checkClearance = async () => {
    if (mark.in === null || mark.out === null || mark.out <= mark.in) { clearanceNote.hidden = true; askedFor = ""; return; }
    if (askedFor === `${mark.in}-${mark.out}`) return;
    askedFor = `${mark.in}-${mark.out}`;
    const ask = ++asked;
    const query = new URLSearchParams({ event_id: eventId, start_s: mark.in.toFixed(3), end_s: mark.out.toFixed(3) });
    let answer;
    try {
      answer = await get(`/v1/replays/clearance?${query}`);
    } catch (err) {
      answer = { verdict: "error", reason: err.message, sources: [] };
    }
    if (ask !== asked) return; // the range moved meanwhile
    clearanceNote.hidden = false;
    clearanceNote.dataset.verdict = answer.verdict;
    const ok = answer.verdict === "granted";
    const lines = [h("strong", { text: ok ? "May be used now" : `Not now: ${answer.reason}` })];
    if (answer.available_from) lines.push(h("span", { class: "until", text: `available from ${new Date(answer.available_from).toLocaleString()}` }));
    if (answer.left_today_s !== null && answer.left_today_s !== undefined) lines.push(h("span", { class: "quota", text: `${Math.floor(answer.left_today_s)} s of clips left today` }));
    const refused = answer.sources.filter((src) => src.verdict !== "granted");
    if (refused.some((src) => src.reason !== answer.reason)) {
      lines.push(h("ul", {}, ...refused.map((src) => h("li", { text: `${src.feed}: ${src.reason}` }))));
    }
    clearanceNote.replaceChildren(...lines);
  };
  let recording = null; // a sequence being recorded: angle switches while playing I→O
  const order = async (kind, options = {}) => {
    if (mark.in === null || mark.out === null || mark.out <= mark.in) {
      rightsNote.textContent = "Mark a range first: I at its start, O at its end.";
      return;
    }
    try {
      const replay = await post("/v1/replays", { event_id: event.id, kind, start_s: mark.in, end_s: mark.out, options });
      rightsNote.textContent = "";
      trackOrder(replay);
    } catch (err) {
      rightsNote.textContent = err.message + (err.body && err.body.available_from ? ` (available from ${new Date(err.body.available_from).toLocaleString()})` : "");
    }
  };
  const trackOrder = (replay) => {
    const bar = h("progress", { max: "1", value: String(replay.progress || 0) });
    const state = h("span", { class: "state", text: replay.status });
    const item = h("li", { dataset: { replay: replay.id } },
      h("a", { href: `/replays/${encodeURIComponent(replay.id)}`, "data-internal": true, text: `${replay.kind} ${timecode(replay.start_s, fps)}–${timecode(replay.end_s, fps)}` }),
      bar, state);
    orders.prepend(item);
    const poll = async () => {
      const now = await get(`/v1/replays/${encodeURIComponent(replay.id)}`);
      bar.value = now.progress;
      state.textContent = now.status + (now.error ? `: ${now.error}` : "");
      item.dataset.status = now.status;
      if (!["succeeded", "failed", "dead"].includes(now.status) && document.body.contains(item)) setTimeout(poll, 700);
    };
    poll();
  };
  buttons.angles.addEventListener("click", () => order("angles"));
  buttons.mosaic.addEventListener("click", () => order("mosaic", feeds.length > 4 ? { columns: 3 } : {}));
  buttons.sweep.addEventListener("click", () => order("sweep", { at_s: player.t }));
  buttons.sequence.addEventListener("click", () => {
    if (mark.in === null || mark.out === null) { rightsNote.textContent = "Mark a range first: I and O."; return; }
    recording = [{ feed_id: player.active.feed.id, at_s: mark.in }];
    seqNote.textContent = `Recording: ${player.active.feed.name} from IN; switch angles with 1-9`;
    player.seek(mark.in);
    player.play(1);
  });
  player.onTime = (t) => {
    tc.textContent = timecode(t, fps);
    frameNo.textContent = `frame ${Math.round(t * fps)}`;
    head.style.left = x(t);
    transport.textContent = player.rate === 0 ? "paused" : `${player.rate > 0 ? "▶" : "◀"} ${Math.abs(player.rate)}x`;
    if (recording && mark.out !== null && t >= mark.out) {
      player.pause();
      const cuts = recording;
      recording = null;
      seqNote.textContent = `Sequence: ${cuts.map((c) => feeds.find((f) => f.id === c.feed_id).name).join(" → ")}`;
      order("sequence", { cuts });
    }
  };
  player.onActive = (angle) => {
    drawLane();
    if (recording && player.rate !== 0) {
      recording.push({ feed_id: angle.feed.id, at_s: Math.max(mark.in, player.t) });
      seqNote.textContent = `Recording: ${recording.length} cuts`;
    }
  };

  // -- the rights decision, for broadcasters: may this be used now, and if not why --
  if (me && me.role === "broadcaster") {
    const usage = await get("/v1/usage").catch(() => null);
    if (usage) rightsNote.textContent = describeUsage(usage);
  }

  // -- keys --
  const onKey = (ev) => {
    if (!document.body.contains(grid)) { document.removeEventListener("keydown", onKey); return; }
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement) return;
    const step = 1 / fps;
    switch (ev.key) {
      case " ": ev.preventDefault(); player.rate === 0 ? player.play(1) : player.pause(); break;
      case "k": case "K": player.pause(); break;
      case "l": case "L": player.play(player.rate > 0 ? Math.min(8, player.rate * 2) : 1); break;
      case "j": case "J": player.play(player.rate < 0 ? Math.max(-8, player.rate * 2) : -1); break;
      case "ArrowRight": ev.preventDefault(); player.pause(); player.seek(player.t + (ev.shiftKey ? 1 : step)); break;
      case "ArrowLeft": ev.preventDefault(); player.pause(); player.seek(player.t - (ev.shiftKey ? 1 : step)); break;
      case "i": case "I": mark.in = player.frameTime(); drawRange(); break;
      case "o": case "O": mark.out = player.frameTime(); drawRange(); break;
      case "m": case "M": ev.preventDefault(); addMarker(); break;
      case "]": { const next = markers.map((m) => m.clock_s).sort((a, b) => a - b).find((s) => s > player.t + step / 2); if (next !== undefined) player.seek(next); break; }
      case "[": { const prev = markers.map((m) => m.clock_s).sort((a, b) => b - a).find((s) => s < player.t - step / 2); if (prev !== undefined) player.seek(prev); break; }
      default:
        if (/^[1-9]$/.test(ev.key)) player.choose(Number(ev.key) - 1);
    }
  };
  document.addEventListener("keydown", onKey);

  const addMarker = () => {
    player.pause();
    const at = player.frameTime();
    const label = h("input", { name: "label", required: true, maxlength: "200", placeholder: "Label", id: "marker-label" });
    const tags = h("input", { name: "tags", placeholder: "tags, comma separated", id: "marker-tags" });
    const athletes = h("input", { name: "athletes", placeholder: "athletes, comma separated", id: "marker-athletes" });
    const error = h("p", { class: "error" });
    const form = h("form", { class: "marker-form", id: "marker-form" },
      h("strong", { text: `Marker at ${timecode(at, fps)}` }), label, tags, athletes,
      h("button", { type: "submit", text: "Add marker" }), h("button", { type: "button", text: "Cancel", onclick: () => form.remove() }), error);
    const split = (v) => v.split(",").map((s) => s.trim()).filter(Boolean);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const made = await post(`/v1/events/${encodeURIComponent(event.id)}/markers`, { clock_s: at, label: label.value, tags: split(tags.value), athletes: split(athletes.value) });
        markers.push(made);
        drawMarkers();
        form.remove();
      } catch (err) { error.textContent = err.message; }
    });
    form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") form.remove(); ev.stopPropagation(); });
    markerList.before(form);
    label.focus();
  };

  await player.ready();
  // A recording still growing opens at its live edge, a segment or so behind the newest picture.
  const growing = feeds.some((f) => f.assets.some((a) => a.status === "recording"));
  const opening = growing ? Math.max(span.start, span.end - LIVE_EDGE_S) : Math.max(span.start, first[0]?.clock_start_s ?? 0);
  player.seek(Number.isFinite(startT) ? startT : opening);
  drawLane();
  if (growing) {
    // Follow the growth: each angle's end, the timeline's span and each feed's lag.
    const timer = setInterval(async () => {
      if (!document.body.contains(grid)) { clearInterval(timer); return; }
      const fresh = await get(`/v1/events/${encodeURIComponent(eventId)}`).catch(() => null);
      if (!fresh) return;
      for (const feed of fresh.feeds) {
        const badge = liveBadges.get(feed.id);
        if (badge) badge.textContent = lagText(feed);
        for (const asset of feed.assets) {
          const angle = player.angles.find((a) => a.asset && a.asset.id === asset.id);
          if (angle) { angle.end = asset.clock_end_s; angle.asset.clock_end_s = asset.clock_end_s; angle.asset.status = asset.status; }
          const known = feeds.find((f) => f.id === feed.id)?.assets.find((a) => a.id === asset.id);
          if (known) known.clock_end_s = asset.clock_end_s;
          span.end = Math.max(span.end, asset.clock_end_s);
        }
      }
      drawLane();
      drawMarkers();
      drawRange();
      player.onTime(player.t);
    }, LIVE_REFRESH_MS);
  }
  window.vantagePlayer = player; // for the browser tests and the benchmark
}

function lagText(feed) {
  return feed.lag_s !== null && feed.lag_s !== undefined ? `LIVE −${feed.lag_s.toFixed(1)} s` : "LIVE";
}

function liveBadge(feed, badges) {
  if (feed.state !== "live" && feed.state !== "recording" && !feed.assets.some((a) => a.status === "recording")) return null;
  const badge = h("span", { class: "live", title: "recording: how far its newest picture is behind the source", text: lagText(feed) });
  badges.set(feed.id, badge);
  return badge;
}

function describeUsage(usage) {
  const parts = [];
  for (const g of usage.grants || []) {
    const notes = [];
    if (g.max_day_s !== null && g.max_day_s !== undefined) notes.push(`${Math.max(0, Math.floor(g.max_day_s - g.used_today_s))} s left today`);
    if (g.max_clip_s !== null && g.max_clip_s !== undefined) notes.push(`clips up to ${g.max_clip_s} s`);
    if (g.next_use_at) notes.push(`next use from ${new Date(g.next_use_at).toLocaleTimeString()}`);
    parts.push(`${g.scope}${g.scope_value ? ` ${g.scope_value}` : ""}: ${(g.media || []).join(", ")}${notes.length ? ` (${notes.join(", ")})` : ""}`);
  }
  return parts.length ? `Your rights: ${parts.join("; ")}. An order outside them is refused with the reason.` : "";
}
