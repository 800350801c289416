/*
 * Omnichannel chat widget: the one script of the script tag (WID-2).
 *
 *   <script src="https://chat.example.com/static/widgets/loader.js" data-widget="KEY" async></script>
 *
 * It draws a chat button and pane inside a shadow root (WID-4), talks to /widget/<KEY>/… and
 * /ws/widget/<KEY>/ on the server it was loaded from (docs/live-chat-protocol.md), and exposes one
 * global, the SDK object window.OmnichannelChat (WID-6..9). Calls made before it loads are queued
 * by this snippet, placed before the script tag (WID-9):
 *
 *   <script>window.OmnichannelChat=window.OmnichannelChat||(function(){var s={q:[]};
 *   ["setContextProvider","setAuthTokenProvider","startChat","closeChat","startProactiveChat",
 *   "getAgentAvailability","logAction","on"].forEach(function(m){s[m]=function(){var a=[].slice.call(arguments);
 *   return new Promise(function(r,j){s.q.push([m,a,r,j])})}});return s})();</script>
 *
 * Message text is only ever put in the page as text (SEC-2); links become <a> elements we build.
 */
(() => {
  "use strict";
  const script =
    document.currentScript || document.querySelector('script[data-widget][src*="/static/widgets/loader.js"]');
  // Pasted twice, or already running: the SDK object is the only trace we leave (WID-4).
  if (!script || (window.OmnichannelChat && window.OmnichannelChat.version)) return;
  const KEY = script.getAttribute("data-widget") || "";
  // The admin center's preview page hands over the configuration itself; nothing is sent.
  const PREVIEW = script.getAttribute("data-preview-config");
  // The product's base URL is where this script came from (a path prefix included).
  const SRC = new URL(script.src, location.href);
  const BASE = SRC.origin + SRC.pathname.replace(/\/static\/widgets\/loader[^\/]*\.js$/, "");
  const API = `${BASE}/widget/${encodeURIComponent(KEY)}/`;
  const SOCKET = `${BASE.replace(/^http/, "ws")}/ws/widget/${encodeURIComponent(KEY)}/`;
  const MAX_MESSAGE_BYTES = 28 * 1024; // CONV-2a
  const ENDED = ["wrap_up", "closed"];

  // I18N-1: the words come from the djangojs catalog the session answer carries, in the widget's
  // language, else the browser's (widgets.selectors.widget_catalog); English until it arrives.
  let catalog = {};
  const gettext = (text) => catalog[text] || text;
  const oops = () => gettext("Something went wrong. Please try again.");

  // --- state ------------------------------------------------------------------------------
  const store = {
    get: (name) => { try { return localStorage.getItem(`oc:${KEY}:${name}`); } catch (e) { return null; } },
    set: (name, value) => {
      try { value == null ? localStorage.removeItem(`oc:${KEY}:${name}`) : localStorage.setItem(`oc:${KEY}:${name}`, value); } catch (e) { /* storage blocked: this page load only */ }
    },
  };
  const listeners = {};
  let config = null;
  let visitorToken = store.get("visitor");
  let conversation = null; // {id, token, status}
  let lastSeq = 0;
  let historySeq = 0; // messages up to here were there before this page: shown, not announced
  let socket = null;
  let retry = 0;
  let retryTimer = null;
  let contextProvider = null;
  let authTokenProvider = null;
  let pendingContext = null;
  let starting = false;
  let pageVisit = null; // the signed name of this page load, for the visit socket (PRO-2)
  let invitation = null; // the open invitation shown on this page {id, message, show_prechat, ...}
  let acceptedInvitation = null; // accepted, its chat starts when the pre-chat survey is sent
  const outbox = new Map(); // client_id → text, until acknowledged (resent after a reconnect)

  const emit = (event, data) => {
    (listeners[event] || []).slice().forEach((cb) => {
      try { cb(data); } catch (e) { setTimeout(() => { throw e; }); }
    });
  };
  const fail = (code, message) => emit("error", { code, message: message || oops() });

  // --- HTTP ---------------------------------------------------------------------------------
  // JSON sent as text/plain is a "simple" cross-origin request: no preflight round trip.
  const call = async (path, body, method = "POST") => {
    const options = { method, mode: "cors", credentials: "omit", headers: {} };
    let url = API + path + "/";
    if (method === "GET") url += "?" + new URLSearchParams(body || {});
    else {
      options.headers["Content-Type"] = "text/plain;charset=UTF-8";
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      throw Object.assign(new Error("The chat service cannot be reached from this page (is it on the widget's allowed domains?)."), { code: "unavailable" });
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(answer.message || oops()), { code: answer.code || "error", errors: answer.errors, status: response.status });
    return answer;
  };

  // --- chat authentication (WID-7, AUTH-2): the host page's signed token -------------------------
  // Asked for when a chat starts and at every socket (re)connect; kept until a minute before its
  // `exp`, when a fresh one is asked for, so a reconnect never carries a stale token.
  let authCache = null; // {token, exp (ms)}
  let authTimer = null;
  let authRetried = false;
  const tokenExpiry = (token) => {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
      return typeof claims.exp === "number" ? claims.exp * 1000 : null;
    } catch (e) { return null; }
  };
  const authToken = async (fresh) => {
    if (!authTokenProvider) return "";
    if (!fresh && authCache && (!authCache.exp || authCache.exp - 60000 > Date.now())) return authCache.token;
    let token;
    try { token = await authTokenProvider(); } catch (e) { fail("auth_token_provider_failed", String((e && e.message) || e)); return ""; }
    if (typeof token !== "string" || !token) { fail("auth_token_provider_failed", "The sign-in token provider returned no token."); return ""; }
    authCache = { token, exp: tokenExpiry(token) };
    clearTimeout(authTimer);
    const wait = authCache.exp ? authCache.exp - Date.now() - 60000 : 0;
    if (wait > 0) authTimer = setTimeout(() => authToken(true), Math.min(wait, 2147483647));
    return token;
  };

  const pageUrl = () => (/^https?:/.test(location.href) ? location.href.slice(0, 2000) : "");
  const openSession = async () => {
    const answer = await call("session", {
      visitor_token: visitorToken || "",
      url: pageUrl(),
      title: document.title.slice(0, 2000),
      language: navigator.language || "",
      auth_token: await authToken(),
    });
    visitorToken = answer.visitor_token;
    store.set("visitor", visitorToken);
    if (answer.auth_error) fail(answer.auth_error.code, answer.auth_error.message); // AUTH-3
    if (answer.page_visit) pageVisit = answer.page_visit;
    return answer;
  };

  // A stale visitor token (a year old, or from a reset server) is renewed once, then the call retried.
  const withVisitor = async (fn) => {
    try {
      return await fn();
    } catch (e) {
      if (e.code !== "invalid_token" && e.code !== "expired_token") throw e;
      visitorToken = null;
      await openSession();
      return fn();
    }
  };

  // --- DOM ------------------------------------------------------------------------------------
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value !== false && value != null) node.setAttribute(name, value === true ? "" : value);
    }
    children.forEach((child) => child && node.append(child));
    return node;
  };
  const STYLE = `
:host{all:initial !important}
*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b}
.root{position:fixed;bottom:20px;right:20px;z-index:2147483000}
.root.left{right:auto;left:20px}
button{cursor:pointer;border:0;border-radius:6px;padding:8px 12px;background:var(--accent);color:var(--ink)}
button.plain{background:#eee;color:#1b1b1b}
button:focus-visible,input:focus-visible,textarea:focus-visible,select:focus-visible,a:focus-visible{outline:3px solid #ffb900;outline-offset:2px;box-shadow:0 0 0 2px #1b1b1b}
.launcher{width:56px;height:56px;border-radius:50%;box-shadow:0 4px 12px #0004;font-size:24px;padding:0}
.pane{position:absolute;bottom:68px;right:0;width:min(360px,calc(100vw - 40px));height:min(520px,calc(100vh - 110px));background:#fff;border-radius:10px;box-shadow:0 8px 28px #0005;display:flex;flex-direction:column;overflow:hidden}
.left .pane{right:auto;left:0}
.pane[hidden]{display:none}
.pane:focus{outline:none}
header{background:var(--accent);padding:10px 12px;display:flex;align-items:center;gap:8px}
header h2{flex:1;margin:0;color:var(--ink);font-weight:600;font-size:15px}
header img{width:28px;height:28px;border-radius:50%;vertical-align:middle;margin-right:8px}
header button{background:transparent;color:var(--ink);padding:4px 8px}
.body{flex:1;overflow:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.body:focus-visible{outline:3px solid #ffb900;outline-offset:-3px}
form{display:flex;flex-direction:column;gap:10px}
label{display:flex;flex-direction:column;gap:4px;font-weight:600}
label.consent{flex-direction:row;align-items:flex-start;font-weight:400}
input,textarea,select{border:1px solid #8a8886;border-radius:4px;padding:6px;background:#fff;font-weight:400}
[aria-invalid=true]{border-color:#a4262c}
.err{color:#a4262c;font-size:12px;font-weight:400}
.req{color:#a4262c}
.msg{max-width:85%;padding:6px 10px;border-radius:10px;background:#f3f2f1;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.customer,.msg.customer *{color:var(--ink)}
.msg.customer{align-self:flex-end;background:var(--accent)}
.msg.system{align-self:center;background:none;color:#605e5c;font-size:12px;font-style:italic;text-align:center}
.msg[data-pending]{opacity:.92}
.msg .thumb img{display:block;max-width:180px;max-height:180px;border-radius:6px}
.note{color:#605e5c;font-size:12px;text-align:center}
.composer{display:flex;gap:6px;padding:8px;border-top:1px solid #edebe9}
.composer textarea{flex:1;resize:none;height:40px}
.bar{display:flex;gap:6px;justify-content:flex-end;padding:0 8px 8px}
.invite{position:absolute;bottom:68px;right:0;width:min(300px,calc(100vw - 40px));background:#fff;border-radius:10px;box-shadow:0 8px 28px #0005;padding:12px;display:flex;flex-direction:column;gap:8px}
.left .invite{right:auto;left:0}
.invite[hidden]{display:none}
.invite p{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
.invite .bar{padding:0}
.launcher{position:relative}
.launcher path{fill:var(--ink)}
.badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#c50f1f;color:#fff;font-size:12px;font-weight:700;line-height:22px}
.badge[hidden]{display:none}
.offline{display:flex;flex-direction:column;gap:10px}
@media (max-width:480px),(max-height:480px){
.pane{position:fixed;inset:0;width:100%;height:100%;border-radius:0}
.open .launcher,.open .invite{display:none}
input,textarea,select,button{font-size:16px}
header button{min-width:44px;min-height:44px}
}
`;
  let ui = null;
  const bubbleIcon = () => {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "#fff");
    svg.append(path);
    return svg;
  };

  const render = () => {
    const host = el("omnichannel-chat");
    const shadow = host.attachShadow({ mode: "open" });
    const accent = /^#[0-9a-f]{6}$/i.test(config.theme_color) ? config.theme_color : "#0f6cbd";
    const ink = config.theme_ink === "#1b1b1b" ? "#1b1b1b" : "#fff"; // readable on the accent (the server says)
    const badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true", "data-testid": "unread-badge" });
    const launcher = el("button", {
      class: "launcher", type: "button", "aria-label": gettext("Open chat"), "aria-expanded": "false", title: config.title,
      "data-testid": "chat-button", onclick: () => setOpen(ui.pane.hidden),
    }, bubbleIcon(), badge);
    const heading = el("h2", { text: config.title, "data-testid": "chat-title" });
    // A focus stop of its own, so the keyboard scrolls the messages too (small screens, zoom).
    const body = el("div", { class: "body", role: "log", "aria-live": "polite", "aria-label": gettext("Messages"), tabindex: "0", "data-testid": "messages" });
    const pane = el("section", { class: "pane", role: "dialog", "aria-label": config.title, tabindex: "-1", hidden: true, "data-testid": "chat-pane" },
      el("header", {}, heading,
        el("button", { type: "button", "aria-label": gettext("Close chat"), "data-testid": "chat-close", onclick: () => setOpen(false) }, "✕")),
      body);
    pane.addEventListener("keydown", (event) => { if (event.key === "Escape") setOpen(false); });
    const root = el("div", { class: `root${config.position === "bottom_left" ? " left" : ""}`, style: `--accent:${accent};--ink:${ink}` }, pane, launcher);
    shadow.append(el("style", { text: STYLE }), root);
    document.body.append(host);
    ui = { host, shadow, launcher, pane, body, footer: null, badge, heading, root };
  };

  // Focus moves only when the customer acted, never on page load (WID-5).
  const setOpen = (open, focus = true) => {
    if (!ui) return;
    ui.pane.hidden = !open;
    ui.root.classList.toggle("open", open);
    ui.launcher.setAttribute("aria-expanded", String(open));
    store.set("open", open ? "1" : null);
    if (open) setUnread(0); // read once the pane shows them
    else setUnread(unread);
    if (!open) return focus && ui.launcher.focus();
    if (!conversation && !ui.body.firstChild) showPrechat(focus);
    const first = (conversation && ui.composer && !ui.composer.disabled && ui.composer.isConnected && ui.composer) ||
      ui.pane.querySelector("input,select,textarea,form button,[data-testid=new-chat]");
    if (first && focus) first.focus();
  };

  // Unread and attention: what an agent wrote while the pane was closed, on the button and in the
  // host page's title (restored when read), with an optional short tone (a widget setting).
  let unread = 0;
  let pageTitle = null;
  const setUnread = (count) => {
    unread = count;
    const label = config.strings || {};
    ui.badge.hidden = !count;
    ui.badge.textContent = count > 99 ? "99+" : String(count);
    ui.launcher.setAttribute("aria-label", ui.pane.hidden ? (count ? `${gettext("Open chat")} (${label.unread}: ${count})` : gettext("Open chat")) : gettext("Close chat"));
    if (count && pageTitle == null) pageTitle = document.title;
    if (pageTitle != null) document.title = count ? `(${count}) ${pageTitle}` : pageTitle;
    if (!count) pageTitle = null;
  };
  const chime = () => {
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
      tone.onended = () => audio.close();
    } catch (e) { /* no audio here: the badge and the title remain */ }
  };
  const attention = (m) => {
    if (m.sender === "agent" && m.sender_name) { // who answers, with their picture if the admin set one
      ui.heading.textContent = m.sender_name;
      if (m.sender_avatar) ui.heading.prepend(el("img", { src: BASE + m.sender_avatar, alt: "", "data-testid": "agent-avatar" }));
    }
    if (!ui.pane.hidden || m.sender === "customer" || m.seq <= historySeq) return;
    setUnread(unread + 1);
    if (config.unread_sound) chime();
  };

  const clearPane = (log) => {
    ui.body.replaceChildren();
    ui.body.setAttribute("role", log ? "log" : "group");
    ui.body.setAttribute("aria-live", log ? "polite" : "off");
    if (ui.footer) ui.footer.remove();
    ui.footer = null;
  };

  // What the button does not need comes in a script of its own when the pane first needs it
  // (WID-5: the loader stays under 10 KB gzipped). It gets the loader's helpers from its script
  // element, so the page gets no second global (WID-4).
  const parts = {};
  const part = (name) => parts[name] || (parts[name] = new Promise((resolve, reject) => {
    const tag = el("script", { src: `${BASE}/static/widgets/${name}.js`, async: true });
    tag.oc = {
      el, call, withVisitor, fail, emit, pageUrl, gettext, oops, config, ui, resolve,
      visitor: () => visitorToken, start: (answers) => startChat(answers, pendingContext),
      chat: () => conversation, auth: () => authToken(), api: API,
    };
    tag.onerror = () => { delete parts[name]; tag.remove(); reject(Object.assign(new Error(oops()), { code: "unavailable" })); };
    document.head.append(tag);
  }));
  // The pre-chat survey (WID-10, WID-11), or what the customer may do when nobody can answer
  // (LIVE-4): widgets/static/widgets/pane.js. A newer screen of the pane wins over a late script.
  let screen = 0;
  const showPrechat = (focus) => {
    clearPane();
    const shown = ++screen;
    part("pane").then((pane) => {
      if (!conversation && shown === screen) pane.prechat(focus && !ui.pane.hidden);
    }).catch((e) => fail(e.code, e.message));
  };

  // During a waiting chat the socket says when somebody can answer again, or no longer can.
  const availabilityChanged = (a) => {
    config.availability = { available: a.available, open: a.open, message: a.message, may_wait: a.may_wait };
    if (ui.notice && conversation && conversation.status === "open") ui.notice.textContent = a.available ? "" : a.message;
    emit("availabilityChanged", { available: a.available });
  };

  // --- starting and following a chat -------------------------------------------------------------
  // A chat of an accepted invitation starts through it (PRO-5); if the invitation is gone by then,
  // the visitor still gets the chat they asked for.
  const startCall = async (answers, context) => {
    if (acceptedInvitation) {
      try {
        return await call(`invitations/${encodeURIComponent(acceptedInvitation)}/accept`, {
          visitor_token: visitorToken, chat: { prechat: answers, context }, language: navigator.language || "",
        });
      } catch (e) {
        if (e.code !== "invitation_closed" && e.code !== "not_found") throw e;
        acceptedInvitation = null;
      }
    }
    return call("chats", {
      visitor_token: visitorToken, prechat: answers, context, url: pageUrl(), language: navigator.language || "",
      auth_token: await authToken(), // WID-7: persistent chat needs it (PER-2)
    });
  };

  const startChat = async (answers, customContext) => {
    if (starting) return;
    starting = true;
    try {
      let context = {};
      if (contextProvider) {
        try { context = (await contextProvider()) || {}; } catch (e) { fail("context_provider_failed", String(e && e.message || e)); }
      }
      context = Object.assign({}, context, customContext || {}); // WID-8: startChat's context wins
      const answer = await withVisitor(() => startCall(answers, context));
      pendingContext = null;
      acceptedInvitation = null;
      follow(answer.conversation);
      if (!ui.pane.hidden) ui.composer.focus(); // WID-5: straight to the message box
      emit("chatStarted", { id: answer.conversation.id });
    } catch (e) {
      fail(e.code, e.message);
      throw e;
    } finally {
      starting = false;
    }
  };

  // After a reload the page shows nothing yet, so a resumed chat is read from the start; only
  // what is new since is announced to the host page.
  const follow = (chat, resumed) => {
    conversation = { id: chat.id, token: chat.token, status: chat.status, queued: false };
    lastSeq = 0;
    historySeq = resumed ? chat.last_seq || 0 : 0;
    showConversation();
    connect();
  };

  const showConversation = () => {
    clearPane(true);
    const composer = el("textarea", { "aria-label": gettext("Type a message…"), placeholder: gettext("Type a message…"), "data-testid": "composer", rows: 1 });
    composer.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); sendMessage(); }
    });
    composer.addEventListener("input", () => typing(true));
    const send = el("button", { type: "button", "data-testid": "send", text: gettext("Send"), onclick: () => sendMessage() });
    const footer = el("div", {}, el("div", { class: "composer" }, composer, send));
    if (!config.persistent) {
      // LIVE-3 with a confirmation; persistent chat is ended by agents only (PER-4).
      const bar = el("div", { class: "bar" });
      // The button pressed goes away each time: the focus moves along, never to the page body.
      const ask = () => {
        const confirm = el("button", { type: "button", "data-testid": "end-chat-confirm", text: gettext("End chat"), onclick: () => { wire({ type: "chat.end" }); ui.pane.focus(); bar.replaceChildren(); } });
        bar.replaceChildren(
          el("span", { class: "note", role: "alert", text: gettext("End this chat?") }),
          confirm,
          el("button", { type: "button", class: "plain", "data-testid": "end-chat-cancel", text: gettext("Cancel"), onclick: () => { bar.replaceChildren(endButton); endButton.focus(); } }),
        );
        confirm.focus();
      };
      const endButton = el("button", { type: "button", class: "plain", "data-testid": "end-chat", text: gettext("End chat"), onclick: ask });
      bar.append(endButton);
      footer.append(bar);
    }
    ui.typing = el("p", { class: "note", hidden: true, "data-testid": "typing-indicator", text: gettext("Agent is typing…") });
    ui.notice = el("p", { class: "note", role: "status" });
    footer.prepend(ui.notice, ui.typing);
    ui.composer = composer;
    ui.footer = footer;
    ui.pane.append(footer);
    if (config.attachments && !PREVIEW) attachments(footer.querySelector(".composer"));
  };

  // Files (issue 16) are a script of their own, loaded when a chat shows (attachments.js).
  let attachmentsModule = null;
  const attachments = (row) => {
    const mount = (module) => module.mount({
      row, drop: ui.pane, composer: ui.composer, notice: ui.notice, config: config.attachments, api: API,
      el, credentials: async () => ({ token: conversation && conversation.token, auth_token: config.persistent ? await authToken() : "" }),
    });
    if (attachmentsModule) return mount(attachmentsModule);
    const tag = el("script", { src: `${BASE}/static/widgets/attachments.js`, async: true });
    tag.register = (module) => { attachmentsModule = module; if (row.isConnected) mount(module); };
    document.head.append(tag);
  };

  const ended = (announce) => {
    if (!ui.footer || ui.footer.dataset.ended) return;
    ui.footer.dataset.ended = "1";
    ui.typing.hidden = true;
    const again = el("button", { type: "button", "data-testid": "new-chat", text: gettext("Start a new chat"), onclick: () => {
      stop(); conversation = null; showPrechat(true);
    } });
    ui.footer.replaceChildren(el("div", { class: "bar", "data-testid": "chat-ended" },
      el("span", { class: "note", role: "status", text: gettext("This chat has ended.") }), again));
    // WID-5: the composer is gone; focus goes to the next thing to do, never to the page body.
    if (!ui.pane.hidden && (ui.shadow.activeElement == null || ui.shadow.activeElement === ui.pane)) again.focus();
    const chat = conversation;
    if (announce) part("pane").then((pane) => conversation === chat && pane.after()).catch(() => {});
    if (announce) emit("chatClosed", { id: conversation && conversation.id, status: conversation && conversation.status });
  };

  // SEC-2: the server cut the text into parts with the product's one link rule
  // (conversations/rendering.py); text goes in as text, links as <a> elements we build.
  const richText = (node, m) => {
    const parts = Array.isArray(m.parts) ? m.parts : [{ text: m.text }];
    for (const part of parts) {
      const text = String(part.text || "");
      // A file (issue 16): a signed link to our own download view, never anything else.
      const file = [part.image, part.file].find((path) => typeof path === "string" && path.startsWith("/attachments/"));
      if (file) {
        const href = BASE + file;
        node.append(part.image
          ? el("a", { href, target: "_blank", rel: "noopener noreferrer", class: "thumb", "data-testid": "attachment-image" }, el("img", { src: href, alt: text }))
          : el("span", {}, el("a", { href, download: text, "data-testid": "attachment-file", text }), ` ${String(part.size || "")}`));
        continue;
      }
      const href = typeof part.link === "string" && /^https?:\/\//i.test(part.link) ? part.link : null;
      node.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text }) : text);
    }
  };

  const showMessage = (m) => {
    const pending = m.client_id && ui.body.querySelector(`[data-client-id="${CSS_ESCAPE(m.client_id)}"]`);
    const node = pending || el("div", { class: `msg ${m.sender}`, "data-testid": "message", "data-sender": m.sender });
    node.removeAttribute("data-pending");
    node.dataset.seq = m.seq;
    // The stored message replaces what was typed: its links as the server cut them.
    node.replaceChildren();
    richText(node, m);
    if (m.sender_name) node.title = m.sender_name;
    // Keep the list in sequence order even if an earlier message arrives late.
    const later = [...ui.body.querySelectorAll("[data-seq]")].find((other) => other !== node && +other.dataset.seq > m.seq);
    ui.body.insertBefore(node, later || null);
    ui.body.scrollTop = ui.body.scrollHeight;
  };
  const CSS_ESCAPE = (value) => (window.CSS && window.CSS.escape ? window.CSS.escape(value) : value.replace(/["\\]/g, "\\$&"));

  const sendMessage = () => {
    const text = ui.composer.value;
    if (!text.trim() || !conversation || ENDED.includes(conversation.status)) return;
    if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) {
      ui.notice.textContent = gettext("Message too long.");
      return fail("message_too_large", gettext("Message too long."));
    }
    const clientId = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    outbox.set(clientId, text);
    const node = el("div", { class: "msg customer", "data-testid": "message", "data-sender": "customer", "data-client-id": clientId, "data-pending": "" });
    node.textContent = text; // until the server's parts arrive with the stored message
    ui.body.append(node);
    ui.body.scrollTop = ui.body.scrollHeight;
    ui.composer.value = "";
    typing(false);
    wire({ type: "message.send", text, client_id: clientId });
  };

  let typingSent = 0;
  let typingTimer = null;
  const typing = (on) => {
    clearTimeout(typingTimer);
    if (on) {
      typingTimer = setTimeout(() => typing(false), 3000);
      if (Date.now() - typingSent < 2500) return;
    } else if (!typingSent) return;
    typingSent = on ? Date.now() : 0;
    wire({ type: "typing", is_typing: on });
  };

  // --- the socket: join, resume after the last seq seen, reconnect with backoff (CONV-2) ---------
  const wire = (frame) => {
    if (socket && socket.readyState === 1 && socket.joined) socket.send(JSON.stringify(frame));
  };

  const connect = () => {
    clearTimeout(retryTimer);
    if (!conversation) return;
    const ws = new WebSocket(SOCKET);
    socket = ws;
    ws.onopen = async () => {
      const join = { type: "join", token: conversation.token, after: lastSeq };
      // Persistent chat follows the signed-in customer: every (re)join proves who they are (PER-3).
      if (config.persistent) join.auth_token = await authToken();
      if (socket === ws && ws.readyState === 1) ws.send(JSON.stringify(join));
    };
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      receive(ws, frame);
    };
    ws.onclose = () => {
      if (socket !== ws || !conversation || ENDED.includes(conversation.status)) return;
      if (ui.notice) ui.notice.textContent = gettext("Reconnecting…");
      const delay = Math.min(30000, 1000 * 2 ** retry++) * (0.75 + Math.random() / 2);
      retryTimer = setTimeout(connect, delay);
    };
  };

  const stop = () => {
    clearTimeout(retryTimer);
    const ws = socket;
    socket = null;
    if (ws) ws.close();
  };

  const receive = (ws, frame) => {
    if (ws !== socket) return;
    if (frame.type === "joined") {
      ws.joined = true;
      retry = 0;
      authRetried = false;
      ui.notice.textContent = "";
      setStatus(frame.status);
      if (frame.availability) availabilityChanged(frame.availability);
      for (const [clientId, text] of outbox) ws.send(JSON.stringify({ type: "message.send", text, client_id: clientId }));
    } else if (frame.type === "conversation.message") {
      if (frame.seq <= lastSeq) return; // already shown: each message once (CONV-2)
      lastSeq = frame.seq;
      showMessage(frame);
      attention(frame);
      if (frame.sender === "customer") sent(frame);
      else {
        if (frame.sender !== "system") ui.typing.hidden = true;
        if (frame.seq > historySeq) emit("messageReceived", { seq: frame.seq, sender: frame.sender, text: frame.text, createdAt: frame.created_at });
      }
    } else if (frame.type === "message.ack") {
      sent(frame);
    } else if (frame.type === "conversation.typing") {
      ui.typing.hidden = !frame.is_typing;
      clearTimeout(ui.typingTimer);
      if (frame.is_typing) ui.typingTimer = setTimeout(() => (ui.typing.hidden = true), 8000);
    } else if (frame.type === "conversation.status") {
      setStatus(frame.status);
    } else if (frame.type === "availability") {
      availabilityChanged(frame);
    } else if (frame.type === "error") {
      if (!ws.joined && (frame.code === "not_found" || frame.code === "invalid_token" || frame.code === "expired_token")) {
        // The chat is gone (or its token is): stop following it and offer a new one.
        stop();
        conversation = null;
        if (ui.pane && !ui.pane.hidden) showPrechat(false);
      } else if (!ws.joined && (frame.code === "authentication_required" || /^auth_/.test(frame.code || ""))) {
        // AUTH-3: the sign-in was refused. An expired token is renewed once; otherwise we stop
        // until the host page gives a new token provider.
        stop();
        authCache = null;
        if (frame.code === "auth_token_expired" && !authRetried) { authRetried = true; connect(); }
        else ui.notice.textContent = frame.message || oops();
      } else if (frame.code === "message_too_large") ui.notice.textContent = gettext("Message too long.");
      fail(frame.code, frame.message);
    }
  };

  // Stored, as told by its ack or its echo, whichever comes first: announced once.
  const sent = (frame) => {
    const text = outbox.get(frame.client_id);
    if (outbox.delete(frame.client_id)) emit("messageSent", { seq: frame.seq, text, clientId: frame.client_id });
  };

  const setStatus = (status) => {
    if (!conversation) return;
    conversation.status = status;
    if (ENDED.includes(status)) {
      // The socket stays open for what follows (the closing system message); it is not renewed.
      outbox.clear();
      ended(true);
    } else if (status === "open" && !conversation.queued) {
      conversation.queued = true;
      emit("queued", { id: conversation.id });
    }
  };

  // --- proactive invitations (PRO-2..7) ------------------------------------------------------------
  // The visit socket names this page load and answers the server's heartbeat requests; the server
  // alone decides when a rule invites and when an invitation closes (after exactly one minute), and
  // pushes both here. A page that reconnects (or reloads) is told which invitation is still open.
  let visitSocket = null;
  let visitRetry = 0;
  let beatTimer = null;

  const watchVisit = () => {
    if (!pageVisit || !visitorToken) return;
    const ws = new WebSocket(`${SOCKET}visit/`);
    visitSocket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "visit", visitor_token: visitorToken, page_visit: pageVisit }));
    ws.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (ws === visitSocket) visitFrame(ws, frame);
    };
    ws.onclose = () => {
      clearTimeout(beatTimer);
      if (ws !== visitSocket) return;
      visitSocket = null;
      const delay = Math.min(30000, 1000 * 2 ** visitRetry++) * (0.75 + Math.random() / 2);
      setTimeout(watchVisit, delay);
    };
  };

  const heartbeatIn = (ws, seconds) => {
    clearTimeout(beatTimer);
    const wait = Math.max(1, Math.min(15, Number(seconds) || 15)) * 1000;
    beatTimer = setTimeout(() => ws.readyState === 1 && ws.send(JSON.stringify({ type: "heartbeat" })), wait);
  };

  const visitFrame = (ws, frame) => {
    if (frame.type === "visiting") {
      visitRetry = 0;
      if (frame.invitation) showInvitation(frame.invitation);
      else if (invitation) hideInvitation(invitation.id, "closed"); // it closed while we were away
      heartbeatIn(ws, frame.next_heartbeat);
    } else if (frame.type === "heartbeat.ack") {
      heartbeatIn(ws, frame.next_heartbeat);
    } else if (frame.type === "invitation.shown") {
      showInvitation(frame.invitation);
    } else if (frame.type === "invitation.closed") {
      if (invitation && invitation.id === frame.invitation) hideInvitation(frame.invitation, frame.status);
    } else if (frame.type === "error") {
      fail(frame.code, frame.message);
      if (frame.code === "invalid_token" || frame.code === "expired_token" || frame.code === "not_found") {
        visitSocket = null; // this page load is not known (any more): no invitations on it
        ws.close();
      }
    }
  };

  // SEC-2: the trigger message is text, never markup.
  const showInvitation = (inv) => {
    if (!ui || !inv || (invitation && invitation.id === inv.id) || (conversation && !ENDED.includes(conversation.status))) return;
    invitation = inv;
    if (!ui.invite) {
      ui.inviteMessage = el("p", { "data-testid": "invitation-message" });
      ui.invite = el("div", { class: "invite", role: "dialog", "aria-label": gettext("Invitation to chat"), "data-testid": "invitation", hidden: true },
        ui.inviteMessage,
        el("div", { class: "bar" },
          el("button", { type: "button", class: "plain", "data-testid": "invitation-dismiss", text: gettext("No thanks"), onclick: () => dismissInvitation() }),
          el("button", { type: "button", "data-testid": "invitation-accept", text: gettext("Chat now"), onclick: () => acceptInvitation() })));
      ui.launcher.before(ui.invite);
    }
    ui.inviteMessage.textContent = inv.message;
    ui.invite.dataset.invitation = inv.id;
    ui.invite.hidden = false;
    emit("invitationShown", { id: inv.id, message: inv.message });
  };

  const hideInvitation = (id, status) => {
    if (!invitation || invitation.id !== id) return;
    invitation = null;
    if (ui && ui.invite) ui.invite.hidden = true;
    emit("invitationClosed", { id, status });
  };

  const dismissInvitation = async () => {
    const inv = invitation;
    if (!inv) return;
    hideInvitation(inv.id, "dismissed");
    emit("invitationDismissed", { id: inv.id });
    try {
      await withVisitor(() => call(`invitations/${encodeURIComponent(inv.id)}/dismiss`, { visitor_token: visitorToken }));
    } catch (e) {
      fail(e.code, e.message);
    }
  };

  // PRO-4, PRO-5: accepting closes the invitation; the chat starts at once, or once the pre-chat
  // survey is answered when the invitation asks for it.
  const acceptInvitation = async () => {
    const inv = invitation;
    if (!inv) return;
    hideInvitation(inv.id, "accepted");
    try {
      if (inv.show_prechat && config.prechat_questions.length) {
        await withVisitor(() => call(`invitations/${encodeURIComponent(inv.id)}/accept`, { visitor_token: visitorToken }));
        acceptedInvitation = inv.id;
        emit("invitationAccepted", { id: inv.id });
        setOpen(true);
      } else {
        acceptedInvitation = inv.id;
        emit("invitationAccepted", { id: inv.id });
        setOpen(true);
        await startChat({}, pendingContext).catch(() => {}); // startChat reports its own errors
      }
    } catch (e) {
      fail(e.code, e.message);
    }
  };

  // --- the SDK (WID-6..9) -------------------------------------------------------------------------
  const ready = (async () => {
    await new Promise((done) => setTimeout(done)); // the host page's queued SDK calls first (a token provider)
    const answer = PREVIEW
      ? { config: JSON.parse(document.getElementById(PREVIEW).textContent), conversation: null }
      : await openSession();
    if (document.readyState === "loading") await new Promise((done) => document.addEventListener("DOMContentLoaded", done, { once: true }));
    config = answer.config;
    catalog = config.catalog || {};
    render();
    if (answer.conversation) follow(answer.conversation, true);
    if (store.get("open") || PREVIEW) setOpen(true, false);
    if (config.proactive_enabled) watchVisit();
    emit("ready", { language: config.language, persistent: config.persistent });
  })();
  ready.catch((e) => fail(e.code || "unavailable", e.message)); // WID-3: a refused page gets no chat

  const actionKind = (type) => String(type || "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const sdk = {
    version: 1,
    on(event, callback) {
      if (typeof callback === "function") (listeners[event] = listeners[event] || []).push(callback);
      return sdk;
    },
    setContextProvider(fn) { contextProvider = typeof fn === "function" ? fn : null; },
    // WID-7: the signed token identifying the customer (AUTH-*). Set after the widget loaded, it
    // looks again for the signed-in customer's persistent conversation (PER-3).
    setAuthTokenProvider(fn) {
      authTokenProvider = typeof fn === "function" ? fn : null;
      authCache = null;
      clearTimeout(authTimer);
      if (config && config.persistent && authTokenProvider) {
        ready.then(async () => {
          if (conversation) { if (!socket) connect(); return; }
          const answer = await openSession();
          if (answer.conversation && !conversation) follow(answer.conversation, true);
        }).catch((e) => fail(e.code || "error", e.message));
      }
    },
    async startChat(options = {}) {
      await ready;
      pendingContext = options.customContext || null;
      setOpen(true);
      if (conversation) return { id: conversation.id };
      if (!config.prechat_questions.length) await startChat({}, pendingContext);
      return conversation ? { id: conversation.id } : null;
    },
    async closeChat() {
      await ready;
      if (conversation && !config.persistent && !ENDED.includes(conversation.status)) wire({ type: "chat.end" });
      setOpen(false);
    },
    // PRO-7: the host page's own invitation, under the same one-minute rule as the rules' ones.
    async startProactiveChat(options = {}, showPrechat = true) {
      await ready;
      const message = String((options && options.message) || "").slice(0, 500);
      if (options && options.customContext) pendingContext = options.customContext;
      let answer;
      try {
        answer = await withVisitor(() => call("invitations", {
          visitor_token: visitorToken, page_visit: pageVisit || "", message, show_prechat: showPrechat !== false,
        }));
      } catch (e) {
        fail(e.code, e.message);
        throw e;
      }
      showInvitation(answer.invitation);
      return { id: answer.invitation.id };
    },
    async getAgentAvailability() {
      await ready;
      return withVisitor(() => call("availability", { visitor_token: visitorToken }, "GET"));
    },
    async logAction(type, title) {
      await ready;
      return withVisitor(() => call("actions", { visitor_token: visitorToken, kind: actionKind(type), title: String(title || "").slice(0, 300), url: pageUrl() }));
    },
  };

  // WID-9: replay what the host page asked for before we were here, in order.
  const early = window.OmnichannelChat;
  window.OmnichannelChat = sdk;
  for (const [method, args, resolve, reject] of (early && Array.isArray(early.q) ? early.q : [])) {
    const fn = sdk[method];
    const result = typeof fn === "function" ? Promise.resolve().then(() => fn.apply(sdk, args || [])) : Promise.reject(new Error(`Unknown method ${method}`));
    result.then(resolve, (e) => (reject ? reject(e) : fail(e.code || "sdk_error", e.message)));
  }
})();
