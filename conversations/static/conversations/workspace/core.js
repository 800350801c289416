// The agent workspace in the browser, shared by every workspace page: the page's strings, the
// server's clock, a DOM helper and the one socket per page (docs/live-chat-protocol.md). The
// features are modules of their own, loaded by the pages that have them (base.html and the
// pages' "workspace_modules" block); start.js, loaded last, opens the socket once they have all
// registered their handlers. Every text from the server or the customer goes in with
// textContent; HTML comes only from the server's own templates (message fragments, SEC-2).
export const body = document.body;

export const readJson = (id, fallback) => {
  const node = document.getElementById(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent);
  } catch {
    return fallback;
  }
};
// The page's words come from Django's JavaScriptCatalog (/jsi18n/<language>/, loaded by base.html
// before these modules): gettext, ngettext, pgettext and interpolate are its globals (I18N-1).
// What the server names at run time (an SMS delivery status) comes from the page as data.
export const strings = readJson("ws-strings", {});
// Deadlines are the server's clock; this page's clock may be off.
export const clockSkew = Date.parse(body.dataset.serverNow) - Date.now() || 0;
export const serverNow = () => Date.now() + clockSkew;

export { el } from "../../core/dom.js";

// A fragment of HTML the server rendered from one of its templates (already escaped there).
export const fragment = (html) => {
  const template = document.createElement("template");
  template.innerHTML = String(html || "").trim();
  return template.content.firstElementChild;
};

// --- The socket ------------------------------------------------------------------------
export const socket = {
  ws: null,
  open: false,
  queue: [],
  replies: new Map(),
  handlers: new Map(),
  onOpen: [],
  retry: 0,
  counter: 0,

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
  },

  // Send a frame; ``onReply`` gets the answer carrying the same ref (an ack or an error).
  send(frame, onReply) {
    const ref = `r${++this.counter}`;
    const withRef = { ...frame, ref };
    if (onReply) this.replies.set(ref, onReply);
    if (this.open) this.ws.send(JSON.stringify(withRef));
    else this.queue.push(withRef);
    return ref;
  },

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${body.dataset.socketPath}`);
    this.ws = ws;
    connection("connecting");
    ws.addEventListener("open", () => {
      this.open = true;
      this.retry = 0;
      connection("connected");
      for (const handler of this.onOpen) handler();
      const queued = this.queue.splice(0);
      for (const frame of queued) ws.send(JSON.stringify(frame));
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.ref && this.replies.has(frame.ref)) {
        const reply = this.replies.get(frame.ref);
        this.replies.delete(frame.ref);
        reply(frame);
      }
      for (const handler of this.handlers.get(frame.type) || []) handler(frame);
      // Other scripts of the page (customers/summary.js) listen to the frames too.
      document.dispatchEvent(new CustomEvent("workspace:frame", { detail: frame }));
    });
    ws.addEventListener("close", (event) => {
      this.open = false;
      connection("offline");
      if (event.code === 4403) return; // signed out or not an agent: reloading shows why
      const delay = Math.min(1000 * 2 ** this.retry, 15000) * (0.5 + Math.random() / 2);
      this.retry += 1;
      setTimeout(() => this.connect(), delay);
    });
  },
};

// ROU-8: the server counts this page as open only while it hears from it; a page whose server
// process died stops counting after ~30 s, so say so every 10 s.
const HEARTBEAT_MS = 10000;
setInterval(() => {
  if (socket.open) socket.ws.send(JSON.stringify({ type: "heartbeat" }));
}, HEARTBEAT_MS);

const CONNECTION = {
  connected: gettext("Connected"),
  connecting: gettext("Connecting…"),
  offline: gettext("Offline – reconnecting…"),
};

function connection(state) {
  const badge = document.querySelector('[data-testid="connection"]');
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = CONNECTION[state] || state;
}
