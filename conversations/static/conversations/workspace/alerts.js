// Incoming work on every workspace page: the notification area (NOT-3, NOT-4, NOT-6, NOT-8), the
// desktop notifications and their setting on the dashboard (NOT-9).
import { body, clockSkew, el, readJson, socket } from "./core.js";

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
// The countdown is read out when it crosses these (seconds left), not every second.
const ANNOUNCE_AT = [60, 30, 10, 5];
// From anywhere in the workspace this key goes to the newest alert's Accept; Escape goes back.
const SHORTCUT = { key: "N", label: "Alt+Shift+N" };
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
  focusAfterRemoval(entry.node);
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
      // Seen every second; heard at the thresholds only (a live region of its own, polite).
      const countdown = el("p", { class: "ws-countdown", "data-testid": "countdown", "aria-hidden": "true" });
      const spoken = el("p", { class: "ws-visually-hidden", role: "status", "data-testid": "countdown-announcement" });
      let lastSpoken = null;
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
        countdown.textContent = interpolate(gettext("%(seconds)s s left"), { seconds }, true);
        countdown.dataset.seconds = String(seconds);
        const threshold = lastSpoken === null ? seconds : ANNOUNCE_AT.find((at) => seconds <= at && lastSpoken > at);
        if (threshold !== undefined) {
          lastSpoken = seconds;
          spoken.textContent = countdown.textContent;
        }
      };
      tick();
      entry.timers.push(setInterval(tick, 250));
      node.append(countdown, spoken);
    }
    const actions = el("div", { class: "ws-notification__actions" });
    const accept = el("button", {
      type: "button", class: "ws-button ws-button--primary", "data-testid": "notification-accept",
      "aria-keyshortcuts": SHORTCUT.label,
    }, notification.accept_label || gettext("Accept"));
    actions.append(accept);
    let reject = null;
    if (notification.show_reject) {
      reject = el("button", { type: "button", class: "ws-button", "data-testid": "notification-reject" }, gettext("Reject"));
      actions.append(reject);
    }
    const busy = (on) => {
      accept.disabled = on;
      if (reject) reject.disabled = on;
    };
    const refused = (frame) => {
      busy(false);
      error.textContent = frame.message || gettext("This work item is no longer available.");
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
      notification.accept_label || gettext("Open")));
  }
  node.append(error);
  // Alerts vanish when their time is up; toasts after a few seconds (NOT-3, NOT-4).
  const lifetime = isToast ? TOAST_MS : deadline - Date.now();
  entry.timers.push(setTimeout(() => notificationRemove(notification.id), Math.max(lifetime, 0)));
  shown.set(notification.id, entry);
  area.append(node);
  // Nothing has the focus (a page just loaded): the alert takes it; otherwise it never steals it.
  if (!isToast && (document.activeElement === document.body || !document.activeElement)) alertFocus();
  desktopShow(notification).catch(() => {}); // the in-app alert is there whatever the desktop does
  if (notification.status !== "displayed") {
    // NOT-8: tell the server a page really showed it.
    socket.send({ type: "notification.displayed", notification: notification.id });
  }
}

// The keyboard's way to the alerts: the shortcut focuses the newest alert's Accept (remembering
// where the agent was); Escape inside an alert goes back there. Enter or Space then accepts.
let focusBefore = null;
function alertFocus() {
  const newest = [...shown.values()].reverse().find((entry) => entry.node.dataset.kind !== "toast");
  const button = newest?.node.querySelector('[data-testid="notification-accept"]');
  if (!button) return false;
  if (!area.contains(document.activeElement)) focusBefore = document.activeElement;
  button.focus();
  return true;
}
document.addEventListener("keydown", (event) => {
  if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && event.key.toUpperCase() === SHORTCUT.key) {
    if (alertFocus()) event.preventDefault();
  } else if (event.key === "Escape" && area?.contains(document.activeElement)) {
    const back = focusBefore && focusBefore.isConnected && focusBefore.checkVisibility() ? focusBefore : null;
    focusBefore = null;
    if (back) back.focus();
    else document.querySelector("main")?.focus();
  }
});
// An alert that goes (accepted elsewhere, timed out) while it has the focus gives it back.
function focusAfterRemoval(node) {
  if (!node.contains(document.activeElement)) return;
  const back = focusBefore && focusBefore.isConnected && focusBefore.checkVisibility() ? focusBefore : null;
  focusBefore = null;
  queueMicrotask(() => (back || document.querySelector("main"))?.focus());
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
  const actions = [{ action: "accept", title: notification.accept_label || gettext("Accept") }];
  if (notification.show_reject) actions.push({ action: "reject", title: gettext("Reject") });
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
    if (frame.type === "error") alert(frame.message || gettext("This work item is no longer available."));
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
          status.textContent = gettext("Saved.");
          status.hidden = false;
        }
      })
      .catch(() => {
        select.value = body.dataset.desktopNotifications;
        if (status) {
          status.textContent = gettext("Not saved; try again.");
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
