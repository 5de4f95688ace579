// Building the page. Every text a user or a broadcaster typed (event names, feed names, marker
// labels, athletes, tags) goes in as a text node: nothing here ever parses HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// Event-clock timecode HH:MM:SS:FF for a time in seconds at an integer-ish frame rate.
export function timecode(seconds, fps = 25) {
  const nominal = Math.round(fps);
  const sign = seconds < 0 ? "-" : "";
  let frames = Math.round(Math.abs(seconds) * fps);
  const ff = frames % nominal;
  frames = Math.floor(frames / nominal);
  const pad = (n) => String(n).padStart(2, "0");
  return `${sign}${pad(Math.floor(frames / 3600))}:${pad(Math.floor(frames / 60) % 60)}:${pad(frames % 60)}:${pad(ff)}`;
}

export function seconds(value) {
  return value === null || value === undefined ? "" : `${Number(value).toFixed(2)} s`;
}
