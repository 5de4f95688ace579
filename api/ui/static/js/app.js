// The editors' UI: one page, three views chosen by the path (deep links an editor can paste):
//   /                      search (the query lives in the URL)
//   /events/{id}?t=SECONDS the multi-angle player at a moment on the event clock
//   /replays/{id}          a replay: progress, outputs, manifest, download
import { Problem, get, post, call, setCsrf } from "./api.js";
import { h, clear } from "./dom.js";
import { showSearch } from "./search.js";
import { showEvent } from "./event.js";
import { showReplay } from "./replay.js";

const app = document.getElementById("app");
let me = null;

function signInForm(message) {
  const input = h("input", {
    name: "key", type: "password", autocomplete: "current-password", required: true,
    placeholder: "vk_...", "aria-label": "API key", id: "key",
  });
  const error = h("p", { class: "error", role: "alert", text: message || "" });
  const form = h("form", { class: "sign-in", id: "sign-in" },
    h("h1", { text: "Sign in to Vantage" }),
    h("label", { for: "key", text: "Your API key (editor, operator, admin or broadcaster)" }),
    input, h("button", { type: "submit", text: "Sign in" }), error);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const session = await post("/v1/session", { key: input.value });
      input.value = "";
      signedIn(session);
      route();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  clear(app).append(form);
  input.focus();
}

function signedIn(session) {
  setCsrf(session.csrf_token);
  me = session.me;
  const who = document.getElementById("who");
  who.textContent = me.broadcaster ? `${me.name} · ${me.broadcaster} (${me.territory || "-"})` : `${me.name} · ${me.role}`;
  document.getElementById("sign-out").hidden = false;
  document.getElementById("quick-search").hidden = false;
}

export function navigate(url) {
  history.pushState(null, "", url);
  route();
}

async function route() {
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  const ctx = { app, me, navigate };
  try {
    let match;
    if ((match = path.match(/^\/events\/([^/]+)$/))) await showEvent(ctx, decodeURIComponent(match[1]), params);
    else if ((match = path.match(/^\/replays\/([^/]+)$/))) await showReplay(ctx, decodeURIComponent(match[1]));
    else await showSearch(ctx, params);
  } catch (err) {
    if (err instanceof Problem && err.status === 401) return signInForm("Your session has ended; sign in again.");
    clear(app).append(h("section", { class: "problem" },
      h("h1", { text: err instanceof Problem && err.status === 404 ? "Not found" : "Something went wrong" }),
      h("p", { text: err.message }), h("a", { href: "/", text: "Back to search" })));
  }
}

document.addEventListener("click", (ev) => {
  const link = ev.target.closest("a[data-internal]");
  if (!link || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", route);

document.getElementById("sign-out").addEventListener("click", async () => {
  try { await call("DELETE", "/v1/session"); } catch { /* already ended */ }
  location.assign("/");
});
document.getElementById("quick-search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = new FormData(ev.target).get("q");
  navigate(`/?q=${encodeURIComponent(q)}`);
});
document.addEventListener("keydown", (ev) => {
  if (ev.key === "/" && !(ev.target instanceof HTMLInputElement)) {
    const box = document.querySelector("#quick-search input");
    if (box && !box.closest("form").hidden) { ev.preventDefault(); box.focus(); }
  }
});

(async () => {
  try {
    signedIn(await get("/v1/session"));
  } catch (err) {
    return signInForm(err instanceof Problem && err.status === 401 ? "" : err.message);
  }
  route();
})();
