// Building the workspace's elements from data, shared by its modules (conversations/workspace/*)
// and the customer summary (customers/summary.js): every text goes in as textContent, never as
// HTML (SEC-2); an attribute that is false, null or undefined is left out, true is present.
export const el = (tag, attrs, text) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
};
