// Building DOM nodes from data. Every string becomes a Text node or an
// attribute value, never markup: nothing here (or anywhere in src/) parses
// HTML, so a message like <img src=x onerror=alert(1)> shows as typed.

// el(tag, props, ...children): props are attributes, except "class",
// "text" (textContent) and on<event> (listeners); children are nodes or
// strings (appended as text).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) node.append(child);
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function show(node, visible = true) {
  node.hidden = !visible;
}

// say puts a message (a string, or nodes built with el) in node and shows
// it; an empty message hides it.
export function say(node, ...parts) {
  node.replaceChildren(...parts.filter((p) => p != null && p !== ""));
  node.hidden = node.childNodes.length === 0;
}
