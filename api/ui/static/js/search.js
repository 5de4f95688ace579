// Search within the caller's rights: words, facets (kind, sport, event, tag), an event-clock
// range, "available to me now", cursor paging. The query lives in the URL.
import { get } from "./api.js";
import { h, clear, timecode } from "./dom.js";

const KINDS = ["event", "feed", "asset", "marker", "replay"];
const KIND_WORDS = { event: "Event", feed: "Camera", asset: "Recording", marker: "Marker", replay: "Replay" };

function apiQuery(params, cursor) {
  const q = new URLSearchParams();
  for (const name of ["q", "from_s", "to_s", "event_id"]) if (params.get(name)) q.set(name, params.get(name));
  for (const kind of params.getAll("kind")) q.append("kind", kind);
  for (const tag of params.getAll("tag")) q.append("tag", tag);
  if (params.get("available_now") === "1") q.set("available_now", "true");
  q.set("limit", "24");
  if (cursor) q.set("cursor", cursor);
  return q;
}

function hitLink(hit) {
  if (hit.kind === "replay") return `/replays/${encodeURIComponent(hit.id)}`;
  const at = hit.clock_start_s !== null && hit.clock_start_s !== undefined ? `?t=${hit.clock_start_s.toFixed(2)}` : "";
  return `/events/${encodeURIComponent(hit.event_id)}${at}`;
}

function resultCard(hit) {
  const poster = hit.asset_id
    ? h("img", { src: `/v1/assets/${encodeURIComponent(hit.asset_id)}/poster.jpg`, alt: "", loading: "lazy" })
    : h("div", { class: "poster-none", text: KIND_WORDS[hit.kind] || hit.kind });
  poster.addEventListener?.("error", () => poster.replaceWith(h("div", { class: "poster-none", text: KIND_WORDS[hit.kind] })));
  const range = hit.clock_start_s === null || hit.clock_start_s === undefined ? "" :
    hit.clock_end_s !== null && hit.clock_end_s !== undefined && hit.clock_end_s !== hit.clock_start_s
      ? `${timecode(hit.clock_start_s)} – ${timecode(hit.clock_end_s)}` : timecode(hit.clock_start_s);
  return h("li", { class: `hit kind-${hit.kind}` },
    h("a", { href: hitLink(hit), "data-internal": true },
      poster,
      h("span", { class: "kind", text: KIND_WORDS[hit.kind] || hit.kind }),
      h("strong", { class: "title", text: hit.title }),
      h("span", { class: "clock", text: range }),
      hit.sport ? h("span", { class: "sport", text: hit.sport }) : null,
      hit.tags.length ? h("span", { class: "tags", text: hit.tags.join(" · ") }) : null,
      hit.athletes.length ? h("span", { class: "athletes", text: hit.athletes.join(", ") }) : null));
}

export async function showSearch(ctx, params) {
  const { app, navigate } = ctx;
  const words = h("input", { name: "q", type: "search", value: params.get("q") || "", placeholder: "Words, names, tags", "aria-label": "Words" });
  const from = h("input", { name: "from_s", type: "number", step: "0.04", value: params.get("from_s") || "", "aria-label": "From (s)", placeholder: "from s" });
  const to = h("input", { name: "to_s", type: "number", step: "0.04", value: params.get("to_s") || "", "aria-label": "To (s)", placeholder: "to s" });
  const now = h("input", { name: "available_now", type: "checkbox", value: "1", checked: params.get("available_now") === "1" });
  const form = h("form", { class: "search", id: "search" }, words,
    h("label", {}, "clock ", from, " – ", to),
    h("label", {}, now, " available to me now"),
    h("button", { type: "submit", text: "Search" }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) next.set(k, v);
    for (const kind of params.getAll("kind")) next.append("kind", kind);
    for (const tag of params.getAll("tag")) next.append("tag", tag);
    navigate(`/?${next}`);
  });
  const facets = h("aside", { class: "facets", id: "facets" });
  const list = h("ul", { class: "hits", id: "hits" });
  const more = h("button", { type: "button", id: "more", hidden: true, text: "More results" });
  const status = h("p", { class: "status" });
  clear(app).append(h("section", { class: "search-page" }, form, h("div", { class: "search-body" }, facets, h("div", {}, status, list, more))));

  const first = await get(`/v1/search?${apiQuery(params)}`);
  drawFacets(first.facets || {}, params, facets, navigate);
  let page = first;
  const draw = (p) => {
    for (const hit of p.items) list.append(resultCard(hit));
    more.hidden = !p.next_cursor;
  };
  draw(first);
  status.textContent = first.items.length ? "" : "Nothing found within your rights.";
  more.addEventListener("click", async () => {
    page = await get(`/v1/search?${apiQuery(params, page.next_cursor)}`);
    draw(page);
  });
}

function drawFacets(counts, params, into, navigate) {
  const toggle = (name, value) => {
    const next = new URLSearchParams(params);
    const values = next.getAll(name);
    next.delete(name);
    if (values.includes(value)) values.filter((v) => v !== value).forEach((v) => next.append(name, v));
    else [...values, value].forEach((v) => next.append(name, v));
    navigate(`/?${next}`);
  };
  const group = (title, name, entries, label = (v) => v, filter = true) => {
    if (!entries.length) return;
    const chosen = params.getAll(name);
    into.append(h("h2", { text: title }), h("ul", {}, entries.map(([value, count]) =>
      h("li", {}, h("button", {
        type: "button", class: chosen.includes(value) ? "facet on" : "facet", dataset: { facet: name, value },
        onclick: () => (filter ? toggle(name, value) : navigate(`/?q=${encodeURIComponent(value)}`)),
      }, label(value), h("span", { class: "count", text: String(count) }))))));
  };
  const sorted = (obj) => Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
  group("Kind", "kind", sorted(counts.kind).filter(([k]) => KINDS.includes(k)), (k) => KIND_WORDS[k] || k);
  group("Sport", "sport", sorted(counts.sport), (v) => v, false);
  group("Event", "event_id", sorted(counts.event), (v) => v);
  group("Tag", "tag", sorted(counts.tags));
  group("Athlete", "athlete", sorted(counts.athletes), (v) => v, false);
}
