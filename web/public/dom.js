// DOM helpers: values from the server only ever reach the page through textContent and attributes.

export const $ = (sel) => document.querySelector(sel);

/** createElement with text set through textContent only. */
export function el(tag, opts = {}, children = []) {
  const node = document.createElement(tag);
  if (opts.className) node.className = opts.className;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.attrs) {
    for (const [k, v] of Object.entries(opts.attrs)) {
      if (v === undefined || v === null || v === false) continue;
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (opts.data) for (const [k, v] of Object.entries(opts.data)) node.dataset[k] = String(v);
  for (const c of children) if (c) node.append(c);
  return node;
}
