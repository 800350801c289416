// The agent workspace in the browser: one socket per page (docs/live-chat-protocol.md), the
// notification area (NOT-3, NOT-4, NOT-6, NOT-8), the presence selector (ROU-5) and, on a
// conversation page, the live chat panel (LIVE-2, CONV-2). Every text from the server or the
// customer is put in the page with textContent, never as HTML (SEC-2).
(() => {
  "use strict";

  const body = document.body;
  if (!body.hasAttribute("data-workspace")) return;

  const readJson = (id, fallback) => {
    const node = document.getElementById(id);
    if (!node) return fallback;
    try {
      return JSON.parse(node.textContent);
    } catch {
      return fallback;
    }
  };
  const strings = readJson("ws-strings", {});
  const t = (key, values) => {
    let text = strings[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.replace(`%(${name})s`, value);
    return text;
  };
  // Deadlines are the server's clock; this page's clock may be off.
  const clockSkew = Date.parse(body.dataset.serverNow) - Date.now() || 0;
  const serverNow = () => Date.now() + clockSkew;

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === false || value === null || value === undefined) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  // --- The socket ------------------------------------------------------------------------
  const socket = {
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

  function connection(state) {
    const badge = document.querySelector('[data-testid="connection"]');
    if (!badge) return;
    badge.dataset.state = state;
    badge.textContent = t(state);
  }

  // --- Notifications ---------------------------------------------------------------------
  const ICONS = {
    chat: "💬",
    sms: "✉",
    voice: "☎",
    case: "📁",
    task: "✔",
    transfer: "⇄",
    escalation: "⚑",
    bot: "🤖",
  };
  const TOAST_MS = 8000;
  const area = document.querySelector('[data-testid="notification-area"]');
  const shown = new Map(); // notification id → {node, timers}

  function notificationRemove(id) {
    desktopClose(id); // NOT-9: the desktop one goes with the in-app one
    const entry = shown.get(id);
    if (!entry) return;
    for (const timer of entry.timers) {
      clearTimeout(timer);
      clearInterval(timer);
    }
    entry.node.remove();
    shown.delete(id);
  }

  function notificationShow(notification) {
    if (!area || shown.has(notification.id)) return;
    const isToast = notification.kind === "toast";
    // NOT-6: the timeout applies whether or not the countdown is shown.
    const deadline = notification.expires_at
      ? Date.parse(notification.expires_at) - clockSkew
      : Date.now() + (notification.timeout_seconds || TOAST_MS / 1000) * 1000;
    if (!isToast && deadline <= Date.now()) return;

    const node = el("div", {
      class: `ws-notification ws-notification--${isToast ? "toast" : "alert"}`,
      "data-testid": "notification",
      "data-notification-id": notification.id,
      "data-offer-id": notification.offer,
      "data-kind": notification.kind,
      role: isToast ? "status" : "alertdialog",
      "aria-labelledby": `notification-title-${notification.id}`,
    });
    const head = el("div", { class: "ws-notification__head" });
    head.append(
      el("span", { class: "ws-notification__icon", "data-icon": notification.icon, "aria-hidden": "true" },
        ICONS[notification.icon] || ICONS.chat),
      el("strong", { id: `notification-title-${notification.id}`, class: "ws-notification__title" }, notification.title),
    );
    node.append(head);
    if (Array.isArray(notification.fields) && notification.fields.length) {
      const list = el("dl", { class: "ws-notification__fields" });
      for (const line of notification.fields) {
        const row = el("div");
        row.append(el("dt", null, line.header), el("dd", null, line.value));
        list.append(row);
      }
      node.append(list);
    }
    const error = el("p", { class: "ws-error", role: "alert", hidden: true });
    const entry = { node, timers: [] };

    if (!isToast) {
      if (notification.show_timeout) {
        const countdown = el("p", { class: "ws-countdown", "data-testid": "countdown" });
        const tick = () => {
          const seconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
          countdown.textContent = t("secondsLeft", { seconds });
          countdown.dataset.seconds = String(seconds);
        };
        tick();
        entry.timers.push(setInterval(tick, 250));
        node.append(countdown);
      }
      const actions = el("div", { class: "ws-notification__actions" });
      const accept = el("button", { type: "button", class: "ws-button ws-button--primary", "data-testid": "notification-accept" },
        notification.accept_label || t("accept"));
      actions.append(accept);
      let reject = null;
      if (notification.show_reject) {
        reject = el("button", { type: "button", class: "ws-button", "data-testid": "notification-reject" }, t("reject"));
        actions.append(reject);
      }
      const busy = (on) => {
        accept.disabled = on;
        if (reject) reject.disabled = on;
      };
      const refused = (frame) => {
        busy(false);
        error.textContent = frame.message || t("notificationGone");
        error.hidden = false;
        if (["offer_gone", "offer_expired", "not_found", "illegal_transition"].includes(frame.code)) {
          entry.timers.push(setTimeout(() => notificationRemove(notification.id), 3000));
        }
      };
      accept.addEventListener("click", () => {
        busy(true);
        socket.send({ type: "offer.accept", offer: notification.offer }, (frame) => {
          if (frame.type === "error") return refused(frame);
          notificationRemove(notification.id);
          if (frame.url) location.assign(frame.url); // NOT-13: straight to the conversation
        });
      });
      if (reject) {
        reject.addEventListener("click", () => {
          busy(true);
          socket.send({ type: "offer.reject", offer: notification.offer }, (frame) => {
            if (frame.type === "error") return refused(frame);
            notificationRemove(notification.id);
          });
        });
      }
      node.append(actions);
    }
    if (isToast && notification.url) {
      // NOT-3, NOT-5: a transfer, a consult or an automatically accepted chat opens from its toast.
      node.append(el("a", { class: "ws-button ws-button--primary", href: notification.url, "data-testid": "notification-open" },
        notification.accept_label || t("open")));
    }
    node.append(error);
    // Alerts vanish when their time is up; toasts after a few seconds (NOT-3, NOT-4).
    const lifetime = isToast ? TOAST_MS : deadline - Date.now();
    entry.timers.push(setTimeout(() => notificationRemove(notification.id), Math.max(lifetime, 0)));
    shown.set(notification.id, entry);
    area.append(node);
    desktopShow(notification).catch(() => {}); // the in-app alert is there whatever the desktop does
    if (notification.status !== "displayed") {
      // NOT-8: tell the server a page really showed it.
      socket.send({ type: "notification.displayed", notification: notification.id });
    }
  }

  // --- Desktop notifications (NOT-9) ----------------------------------------------------
  // The service worker (/workspace/sw.js) shows them, so their Accept / Reject buttons work
  // even when no workspace page is open; it hands the buttons back to a page as messages.
  const desktop = {
    supported: "serviceWorker" in navigator && "Notification" in window,
    registration: null,
  };
  if (desktop.supported && body.dataset.serviceWorker) {
    navigator.serviceWorker
      .register(body.dataset.serviceWorker, { scope: "/workspace/" })
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        desktop.registration = registration;
      })
      .catch(() => {
        desktop.supported = false;
      });
  }
  // The agent's own choice wins; "template" follows the notification's template.
  const desktopMode = (notification) => {
    const own = body.dataset.desktopNotifications || "template";
    return own === "template" ? notification.desktop_mode || "background" : own;
  };
  const inBackground = () => document.visibilityState !== "visible" || !document.hasFocus();
  // Whether another workspace page has the focus: then the agent is in the workspace anyway.
  const workspaceFocused = (registration) =>
    new Promise((resolve) => {
      if (!registration.active) return resolve(false);
      const channel = new MessageChannel();
      const timer = setTimeout(() => resolve(false), 1000);
      channel.port1.onmessage = (event) => {
        clearTimeout(timer);
        resolve(Boolean(event.data && event.data.focused));
      };
      registration.active.postMessage({ type: "desktop.focused" }, [channel.port2]);
    });

  async function desktopShow(notification) {
    if (!desktop.supported || notification.kind === "toast" || !notification.offer) return;
    if (Notification.permission !== "granted") return;
    const mode = desktopMode(notification);
    if (mode === "never" || (mode === "background" && !inBackground())) return;
    const registration = desktop.registration || (await navigator.serviceWorker.ready);
    if (mode === "background" && (await workspaceFocused(registration))) return;
    const actions = [{ action: "accept", title: notification.accept_label || t("accept") }];
    if (notification.show_reject) actions.push({ action: "reject", title: t("reject") });
    const lines = (notification.fields || []).map((line) => `${line.header}: ${line.value}`);
    // No countdown on the desktop: the timeout applies, unseen (NOT-9).
    await registration.showNotification(notification.title || "", {
      body: lines.join("\n"),
      tag: `notification-${notification.id}`,
      data: { notification: notification.id, offer: notification.offer },
      actions,
      requireInteraction: true,
    });
    if (!shown.has(notification.id)) desktopClose(notification.id); // it ended meanwhile
  }

  function desktopClose(id) {
    if (!desktop.supported) return;
    navigator.serviceWorker
      .getRegistration("/workspace/")
      .then((registration) => registration?.getNotifications({ tag: `notification-${id}` }))
      .then((list) => {
        for (const item of list || []) item.close();
      })
      .catch(() => {});
  }

  // A desktop button, or a page opened by one: act as if the in-app button was clicked.
  function desktopAction(action, offer) {
    const entry = [...shown.values()].find((item) => item.node.dataset.offerId === String(offer));
    const button = entry?.node.querySelector(`[data-testid="notification-${action}"]`);
    if (button) {
      button.click();
      return;
    }
    socket.send({ type: action === "accept" ? "offer.accept" : "offer.reject", offer }, (frame) => {
      if (frame.type === "error") alert(frame.message || t("notificationGone"));
      else if (frame.url) location.assign(frame.url);
    });
  }
  if (desktop.supported) {
    navigator.serviceWorker.addEventListener("message", (event) => {
      const message = event.data || {};
      const offer = Number(message.offer);
      if (message.type === "desktop.action" && ["accept", "reject"].includes(message.action) && offer > 0) {
        desktopAction(message.action, offer);
      } else if (message.type === "desktop.show") {
        window.focus();
        const entry = shown.get(Number(message.notification));
        entry?.node.scrollIntoView({ block: "nearest" });
        entry?.node.querySelector('[data-testid="notification-accept"]')?.focus();
      }
    });
  }
  const opened = new URLSearchParams(location.search);
  if (["accept", "reject"].includes(opened.get("desktop_action")) && Number(opened.get("offer")) > 0) {
    const action = opened.get("desktop_action");
    const offer = Number(opened.get("offer"));
    history.replaceState(null, "", location.pathname); // a reload must not act twice
    // After the first connect, when the pending notifications are on the page.
    let done = false;
    socket.onOpen.push(() => {
      if (done) return;
      done = true;
      desktopAction(action, offer);
    });
  }

  // The dashboard's setting; the browser asks for permission on the agent's click, once.
  const desktopForm = document.querySelector("[data-desktop-form]");
  if (desktopForm) {
    const select = desktopForm.querySelector('[data-testid="desktop-notifications-select"]');
    const allow = desktopForm.querySelector('[data-testid="desktop-permission"]');
    const status = desktopForm.querySelector('[data-testid="desktop-status"]');
    desktopForm.querySelector("[data-desktop-submit]")?.setAttribute("hidden", "");
    const showAllow = () => {
      if (allow) allow.hidden = !(desktop.supported && Notification.permission === "default" && select.value !== "never");
    };
    const askPermission = () => {
      if (desktop.supported && Notification.permission === "default") Notification.requestPermission().then(showAllow);
    };
    allow?.addEventListener("click", askPermission);
    select.addEventListener("change", () => {
      if (select.value !== "never") askPermission();
      const data = new FormData(desktopForm);
      fetch(desktopForm.action, { method: "POST", body: data, headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((response) => response.json().then((answer) => ({ ok: response.ok, answer })))
        .then(({ ok, answer }) => {
          if (!ok) throw new Error(answer.message);
          body.dataset.desktopNotifications = answer.mode;
          if (status) {
            status.textContent = t("saved");
            status.hidden = false;
          }
        })
        .catch(() => {
          select.value = body.dataset.desktopNotifications;
          if (status) {
            status.textContent = t("notSaved");
            status.hidden = false;
          }
        })
        .finally(showAllow);
    });
    showAllow();
  }

  socket.on("notification.raised", (frame) => frame.notification && notificationShow(frame.notification));
  socket.on("notification.closed", (frame) => notificationRemove(frame.notification));
  const removeForOffer = (frame) => {
    if (frame.automatic) return; // NOT-5: its toast stays to open the session
    for (const [id, entry] of shown) {
      if (entry.node.dataset.offerId === String(frame.offer)) notificationRemove(id);
    }
  };
  for (const type of ["offer.accepted", "offer.withdrawn", "offer.timed_out", "offer.rejected"]) {
    socket.on(type, removeForOffer);
  }
  for (const notification of readJson("ws-pending-notifications", []) || []) notificationShow(notification);

  // --- Presence and banners (dashboard) --------------------------------------------------
  const presenceForm = document.querySelector("[data-presence-form]");
  const presenceSelect = document.querySelector('[data-testid="presence-select"]');
  if (presenceForm && presenceSelect) {
    presenceForm.querySelector("[data-presence-submit]")?.setAttribute("hidden", "");
    let current = presenceSelect.value;
    presenceSelect.addEventListener("change", () => {
      if (!socket.open) {
        presenceForm.submit(); // the plain form calls the same service
        return;
      }
      const chosen = presenceSelect.value;
      socket.send({ type: "presence.set", presence: Number(chosen) }, (frame) => {
        if (frame.type === "error") {
          presenceSelect.value = current;
          alert(frame.message);
        } else {
          current = chosen;
        }
      });
    });
    socket.on("presence.changed", (frame) => {
      const presence = frame.presence;
      if (!presence || typeof presence !== "object") return;
      let option = presenceSelect.querySelector(`option[value="${Number(presence.id)}"]`);
      if (!option) {
        // A presence only the system sets (Inactive): shown, not choosable.
        option = el("option", { value: presence.id, disabled: true }, presence.name);
        presenceSelect.append(option);
      }
      presenceSelect.value = String(presence.id);
      current = presenceSelect.value;
    });
  }
  const banners = document.querySelector('[data-testid="banners"]');
  if (banners) {
    socket.on("banner.raised", (frame) => {
      const banner = frame.banner || frame;
      if (banners.querySelector(`[data-banner-id="${Number(banner.id)}"]`)) return;
      banners.append(
        el("div", { class: `ws-banner ws-banner--${banner.kind}`, "data-testid": "banner", "data-banner-id": banner.id, role: "alert" },
          banner.message),
      );
    });
    socket.on("banner.cleared", (frame) => {
      for (const id of frame.banners || []) banners.querySelector(`[data-banner-id="${Number(id)}"]`)?.remove();
    });
  }

  // --- Open items (pick mode, ROU-13) ------------------------------------------------------
  // The server renders the list (escaped); when a queue's items change the page re-reads it.
  const openItems = document.querySelector("[data-open-items]");
  if (openItems) {
    let reading = null;
    const reread = () => {
      if (reading) return;
      reading = fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
        .then((html) => {
          const fresh = new DOMParser().parseFromString(html, "text/html").querySelector('[data-testid="open-items-list"]');
          const current = openItems.querySelector('[data-testid="open-items-list"]');
          if (fresh && current) current.replaceWith(document.adoptNode(fresh));
        })
        .catch(() => {})
        .finally(() => {
          reading = null;
        });
    };
    socket.on("queue.items_changed", reread);
    socket.onOpen.push(reread); // after a reconnect, catch up on what changed meanwhile
  }

  // --- SMS delivery status (SMS-1) --------------------------------------------------------
  // The same markup as templates/conversations/_sms_delivery.html, from a conversation.delivery
  // event; the words come from the page's strings (the agent's language), the status as text.
  function deliveryRender(messageNode, delivery) {
    if (!delivery || typeof delivery.status !== "string") return;
    const node = el("p", {
      class: `ws-delivery ws-delivery--${delivery.status}`,
      "data-testid": "delivery",
      "data-status": delivery.status,
    });
    node.append(
      el("span", { class: "ws-visually-hidden" }, `${t("delivery_prefix")} `),
      el("span", { class: "ws-delivery__label", "data-testid": "delivery-label" }, strings[`delivery_${delivery.status}`] || delivery.label || delivery.status),
    );
    if (delivery.reason) {
      const reason = strings[`delivery_reason_${delivery.code}`] || delivery.reason;
      node.append(el("span", { class: "ws-delivery__reason", "data-testid": "delivery-reason" }, reason));
    }
    const current = messageNode.querySelector('[data-testid="delivery"]');
    if (current) current.replaceWith(node);
    else messageNode.append(node);
  }

  // --- Several contacts with the caller's mobile number (SMS-2) ----------------------------
  // The agent links one from the list (templates/conversations/_contact_candidates.html): plain
  // buttons in a list, so Tab and Enter work; the summary re-reads itself (summary.changed).
  function setUpContactCandidates(section) {
    const error = section.querySelector("[data-candidates-error]");
    const csrf = (section.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
    const heading = document.getElementById("chat-heading");
    let linking = false; // this page's choice is on its way: it says so itself when it lands
    const done = (name) => {
      if (heading && name) heading.textContent = name;
      const status = el("p", { class: "ws-notice", role: "status", "data-testid": "contact-linked", tabindex: "-1" },
        t("contactLinked", { name }));
      section.replaceWith(status);
      status.focus();
    };
    section.addEventListener("click", (event) => {
      const button = event.target.closest("[data-link-contact]");
      if (!button) return;
      const item = button.closest("[data-testid=contact-candidate]");
      const name = item?.querySelector("[data-testid=contact-candidate-name]")?.textContent || "";
      for (const other of section.querySelectorAll("[data-link-contact]")) other.disabled = true;
      linking = true;
      fetch(section.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ kind: "contact", id: Number(button.dataset.linkContact) }),
      })
        .then((response) => response.json().catch(() => ({})).then((data) => ({ ok: response.ok, data })))
        .then(({ ok, data }) => {
          if (!ok) throw new Error(data.message || t("notSaved"));
          done(name);
        })
        .catch((failure) => {
          linking = false;
          for (const other of section.querySelectorAll("[data-link-contact]")) other.disabled = false;
          error.textContent = failure.message || t("notSaved");
          error.hidden = false;
          button.focus();
        });
    });
    // Linked another way (the summary's search, another page): the choice is made.
    document.addEventListener("workspace:frame", (event) => {
      const frame = event.detail || {};
      if (frame.type === "summary.changed" && Array.isArray(frame.changed) && frame.changed.includes("contact")) {
        if (!linking && section.isConnected) section.remove();
      }
    });
  }
  const candidates = document.querySelector("[data-contact-candidates]");
  if (candidates) setUpContactCandidates(candidates);

  // --- The chat panel (conversation page) ------------------------------------------------
  const chat = document.querySelector("[data-chat]");
  if (chat) setUpChat(chat);

  function setUpChat(root) {
    const conversation = Number(root.dataset.conversationId);
    const holdsIt = root.dataset.holdsIt === "true";
    const canWrite = root.dataset.canWrite === "true"; // the holder or a consultant (ROU-15)
    let lastSeq = Number(root.dataset.lastSeq) || 0;
    let status = root.dataset.status;
    let endingHere = false;
    const list = root.querySelector('[data-testid="messages"]');
    const composerForm = root.querySelector("[data-composer]");
    const composer = root.querySelector('[data-testid="composer"]');
    const statusBadge = root.querySelector('[data-testid="conversation-status"]');
    const endButton = root.querySelector('[data-testid="end-conversation"]');
    const closeButton = root.querySelector('[data-testid="close-conversation"]');
    const parkButton = root.querySelector('[data-testid="park-conversation"]'); // persistent chat only (PER-6)
    const customerEnded = root.querySelector('[data-testid="customer-ended"]');
    const wrapUpNotice = root.querySelector('[data-testid="wrap-up-notice"]');
    const typing = root.querySelector('[data-testid="typing"]');
    const chatError = root.querySelector('[data-testid="chat-error"]');
    const pending = new Map(); // client_id → {node, frame}
    const deliveries = new Map(); // seq → the latest delivery event of an SMS reply
    const optedOut = root.querySelector('[data-testid="sms-opted-out"]');
    const MAX_BYTES = 28 * 1024;
    const encoder = new TextEncoder();

    const showError = (message) => {
      chatError.textContent = message;
      chatError.hidden = !message;
    };
    const scrollDown = () => {
      list.scrollTop = list.scrollHeight;
    };
    scrollDown();

    // SEC-2: text nodes for the text, anchors only for http(s) links, opened without opener.
    const LINK = /\bhttps?:\/\/[^\s<>"']+/gi;
    function renderText(container, text) {
      let position = 0;
      for (const match of text.matchAll(LINK)) {
        const url = match[0].replace(/[.,;:!?)\]}'"]+$/, "");
        container.append(document.createTextNode(text.slice(position, match.index)));
        let parsed = null;
        try {
          parsed = new URL(url);
        } catch {
          parsed = null;
        }
        if (parsed && (parsed.protocol === "http:" || parsed.protocol === "https:")) {
          container.append(el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer nofollow" }, url));
        } else {
          container.append(document.createTextNode(url));
        }
        position = match.index + url.length;
      }
      container.append(document.createTextNode(text.slice(position)));
    }

    function messageNode(message) {
      const mine = message.sender === "agent" && pending.has(message.client_id);
      const node = el("li", {
        class: `ws-message ws-message--${message.sender}`,
        "data-testid": "message",
        "data-sender": message.sender,
        "data-seq": message.seq,
      });
      const meta = el("span", { class: "ws-message__meta" });
      const time = message.created_at ? new Date(message.created_at) : new Date();
      meta.append(
        el("span", { class: "ws-message__who" }, message.sender_name || (mine ? t("you") : t(message.sender))),
        document.createTextNode(" "),
        el("time", { datetime: time.toISOString() }, time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
      );
      const text = el("div", { class: "ws-message__text" });
      renderText(text, message.text || "");
      node.append(meta, text);
      const delivery = deliveries.get(message.seq) || message.delivery;
      if (delivery) deliveryRender(node, delivery);
      return node;
    }

    socket.on("conversation.delivery", (frame) => {
      if (frame.conversation !== conversation || !Number.isInteger(frame.seq)) return;
      deliveries.set(frame.seq, frame); // a message node built later (live or acked) shows it too
      const node = list.querySelector(`[data-testid="message"][data-seq="${frame.seq}"]`);
      if (node) deliveryRender(node, frame);
    });
    // The customer texted STOP or START (SMS-1): the composer says whether a reply can go.
    socket.on("conversation.opt_out", (frame) => {
      if (frame.conversation !== conversation || !optedOut) return;
      optedOut.hidden = !frame.opted_out;
      if (frame.opted_out) composer?.setAttribute("aria-describedby", optedOut.id);
      else composer?.removeAttribute("aria-describedby");
    });

    socket.on("conversation.message", (frame) => {
      if (frame.conversation !== conversation || frame.seq <= lastSeq) return;
      lastSeq = frame.seq;
      const local = frame.client_id && pending.get(frame.client_id);
      const node = messageNode(frame);
      if (local) {
        local.node.replaceWith(node);
        pending.delete(frame.client_id);
      } else {
        list.append(node);
      }
      if (frame.sender === "customer") typing.hidden = true;
      scrollDown();
    });

    let typingTimer = null;
    socket.on("conversation.typing", (frame) => {
      if (frame.conversation !== conversation || frame.sender !== "customer") return;
      typing.hidden = !frame.is_typing;
      clearTimeout(typingTimer);
      if (frame.is_typing) typingTimer = setTimeout(() => (typing.hidden = true), 8000);
    });

    function applyStatus(next, previous, actor) {
      if (next === status) return;
      status = next;
      root.dataset.status = next;
      statusBadge.dataset.status = next;
      statusBadge.className = `ws-badge ws-badge--${next}`;
      statusBadge.textContent = t(`status_${next}`);
      const active = next === "active" || next === "waiting";
      endButton.hidden = !(holdsIt && active);
      closeButton.hidden = !(holdsIt && next === "wrap_up");
      if (parkButton) parkButton.hidden = !(holdsIt && next === "active");
      wrapUpNotice.hidden = next !== "wrap_up";
      composerForm.hidden = !(canWrite && next === "active");
      const ended = next === "wrap_up" || next === "closed";
      const fromLive = previous === "active" || previous === "waiting";
      // LIVE-3: the customer ended it (or left and did not come back) when the event says so,
      // or, for events without an actor, when this page did not end it.
      if (ended && fromLive && (actor ? actor === "customer" || actor === "system" : !endingHere)) customerEnded.hidden = false;
      if (ended) typing.hidden = true;
    }
    socket.on("conversation.status", (frame) => {
      if (frame.conversation === conversation) applyStatus(frame.status, frame.previous, frame.actor);
    });
    // ROU-14: it was transferred from or to this agent; the page shows who holds it now.
    socket.on("conversation.transferred", (frame) => {
      const me = Number(body.dataset.agentId);
      if (frame.conversation === conversation && (frame.from_agent === me || frame.to_agent === me)) location.reload();
    });

    socket.on("conversation.joined", (frame) => {
      if (frame.conversation === conversation && frame.status) applyStatus(frame.status, null, null);
    });
    // Join on every (re)connect with the last message this page has: the server sends the
    // rest once, in order (CONV-2). Unacknowledged messages go again with the same client id.
    socket.onOpen.push(() => {
      socket.ws.send(JSON.stringify({ type: "conversation.join", conversation, after: lastSeq }));
      for (const [, entry] of pending) if (!entry.acked) sendFrame(entry);
    });

    function sendFrame(entry) {
      socket.send(entry.frame, (frame) => {
        if (frame.type === "error") {
          entry.node.remove();
          pending.delete(entry.frame.client_id);
          showError(frame.message);
          if (!composer.value) composer.value = entry.frame.text;
          return;
        }
        entry.acked = true;
        entry.node.dataset.seq = String(frame.seq);
        entry.node.removeAttribute("data-pending");
        if (deliveries.has(frame.seq)) deliveryRender(entry.node, deliveries.get(frame.seq));
      });
    }

    const newClientId = () =>
      crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

    composerForm?.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = composer.value;
      if (!text.trim()) return;
      if (encoder.encode(text).length > MAX_BYTES) {
        showError(t("tooLarge"));
        return;
      }
      showError("");
      const clientId = newClientId();
      const frame = { type: "message.send", conversation, text, client_id: clientId };
      const node = messageNode({ sender: "agent", text, client_id: clientId, sender_name: t("you") });
      node.dataset.pending = "";
      node.removeAttribute("data-seq");
      const entry = { node, frame, acked: false };
      pending.set(clientId, entry);
      list.append(node);
      scrollDown();
      composer.value = "";
      sendTyping(false);
      if (socket.open) sendFrame(entry); // otherwise it goes when the socket is back
    });
    composer?.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composerForm.requestSubmit();
      }
    });

    let typingSent = false;
    let typingIdle = null;
    function sendTyping(isTyping) {
      if (typingSent === isTyping || !socket.open) return;
      typingSent = isTyping;
      socket.send({ type: "typing", conversation, is_typing: isTyping });
    }
    composer?.addEventListener("input", () => {
      sendTyping(composer.value.length > 0);
      clearTimeout(typingIdle);
      typingIdle = setTimeout(() => sendTyping(false), 4000);
    });

    const act = (button, type) => {
      button.disabled = true;
      if (type === "conversation.end") endingHere = true;
      socket.send({ type, conversation }, (frame) => {
        button.disabled = false;
        if (frame.type === "error") {
          if (type === "conversation.end") endingHere = false;
          showError(frame.message);
        } else if (frame.status) {
          showError("");
          applyStatus(frame.status, status, "agent");
        }
      });
    };
    endButton.addEventListener("click", () => act(endButton, "conversation.end"));
    closeButton.addEventListener("click", () => act(closeButton, "conversation.close"));
    parkButton?.addEventListener("click", () => act(parkButton, "conversation.park"));
  }

  // --- Summary tabs ----------------------------------------------------------------------
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  const selectTab = (chosen) => {
    for (const tab of tabs) {
      const selected = tab === chosen;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !selected;
    }
  };
  for (const tab of tabs) tab.addEventListener("click", () => selectTab(tab));
  if (tabs.length) selectTab(tabs[0]);

  socket.connect();
})();
