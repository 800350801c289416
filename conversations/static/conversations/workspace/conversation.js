// The conversation page: the live chat panel (LIVE-2, CONV-2), its controls by status, SMS
// delivery and contact linking (SMS-1, SMS-2) and the summary's tabs. Messages, history and live
// alike, are the server's fragments of templates/conversations/_message.html (issue 11).
import { body, el, fragment, socket, strings } from "./core.js";

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
    el("span", { class: "ws-visually-hidden" }, `${strings.delivery_prefix} `),
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
      interpolate(gettext("Linked to %(name)s."), { name }, true));
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
        if (!ok) throw new Error(data.message || gettext("Not saved; try again."));
        done(name);
      })
      .catch((failure) => {
        linking = false;
        for (const other of section.querySelectorAll("[data-link-contact]")) other.disabled = false;
        error.textContent = failure.message || gettext("Not saved; try again.");
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

// The conversation's status as the page's status badge says it (the server's Conversation.Status labels).
const STATUS = {
  open: pgettext("conversation status", "Open"),
  active: pgettext("conversation status", "Active"),
  waiting: pgettext("conversation status", "Waiting"),
  wrap_up: pgettext("conversation status", "Wrap-up"),
  closed: pgettext("conversation status", "Closed"),
};

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
  const handoverLink = root.querySelector('[data-testid="handover-link"]'); // the holder's only (ROU-14, ROU-15)
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

  // A stored message: the server's fragment, the same HTML as the page's history (one renderer
  // for links, names and times; SEC-2: escaped there). A later delivery event it missed is applied.
  function messageNode(frame) {
    const node = fragment(frame.html);
    if (!node) return null;
    const delivery = deliveries.get(frame.seq);
    if (delivery) deliveryRender(node, delivery);
    return node;
  }

  // What the agent just sent, until the stored message replaces it: plain text, no time yet.
  function pendingNode(text) {
    const node = el("li", { class: "ws-message ws-message--agent", "data-testid": "message", "data-sender": "agent", "data-pending": "" });
    const meta = el("span", { class: "ws-message__meta" });
    meta.append(el("span", { class: "ws-message__who" }, gettext("You")), document.createTextNode(" "), el("span", { class: "ws-meta" }, gettext("Sending…")));
    node.append(meta, el("div", { class: "ws-message__text" }, text));
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
    const focused = document.activeElement;
    status = next;
    root.dataset.status = next;
    statusBadge.dataset.status = next;
    statusBadge.className = `ws-badge ws-badge--${next}`;
    statusBadge.textContent = STATUS[next] || next;
    const active = next === "active" || next === "waiting";
    endButton.hidden = !(holdsIt && active);
    closeButton.hidden = !(holdsIt && next === "wrap_up");
    if (parkButton) parkButton.hidden = !(holdsIt && next === "active");
    // The same rules as the page's template (conversation.html): only what applies now is offered.
    if (handoverLink) handoverLink.hidden = !(holdsIt && next === "active");
    wrapUpNotice.hidden = next !== "wrap_up";
    composerForm.hidden = !(canWrite && next === "active");
    const ended = next === "wrap_up" || next === "closed";
    const fromLive = previous === "active" || previous === "waiting";
    // LIVE-3: the customer ended it (or left and did not come back) when the event says so,
    // or, for events without an actor, when this page did not end it.
    if (ended && fromLive && (actor ? actor === "customer" || actor === "system" : !endingHere)) customerEnded.hidden = false;
    if (ended) typing.hidden = true;
    // The control that had the focus (End, the message box) may be gone now: the focus goes to
    // what there is to do next, never to the page body.
    if (!focused || focused === document.body || !root.contains(focused) || focused.checkVisibility()) return;
    focusNext();
  }
  // Nothing left to do here (closed): the status itself, which says so.
  const focusNext = () => [closeButton, endButton, composer, statusBadge].find((control) => control?.checkVisibility())?.focus();
  socket.on("conversation.status", (frame) => {
    if (frame.conversation === conversation) applyStatus(frame.status, frame.previous, frame.actor);
  });
  // Issue 16: the customer answered the post-chat survey; its answers appear where a reload shows them.
  socket.on("conversation.survey", (frame) => {
    if (frame.conversation !== conversation) return;
    const answers = document.createRange().createContextualFragment(frame.html).firstElementChild;
    const shown = root.querySelector('[data-testid="survey-answers"]');
    if (shown) shown.replaceWith(answers);
    else (root.querySelector("[data-wrap-up]") || root.querySelector('[data-testid="wrap-up-notice"]')).after(answers);
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
    // Private notes resume after the last one the page shows (composer.js keeps it, issue 15).
    const notesAfter = Number(root.dataset.lastNote) || 0;
    socket.ws.send(JSON.stringify({ type: "conversation.join", conversation, after: lastSeq, notes_after: notesAfter }));
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
      showError(gettext("A message is at most 28 KB."));
      return;
    }
    showError("");
    const clientId = newClientId();
    const frame = { type: "message.send", conversation, text, client_id: clientId };
    const node = pendingNode(text);
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
    // A disabled button loses the focus: it comes back to it, or to what follows it.
    const hadFocus = document.activeElement === button;
    button.disabled = true;
    if (type === "conversation.end") endingHere = true;
    const frameOut = { type, conversation };
    // Issue 15: the wrap-up code chosen goes with the end and the close.
    const code = Number(root.querySelector('[data-testid="wrap-up-code"]')?.value) || 0;
    if (code && type !== "conversation.park") frameOut.wrap_up_code = code;
    socket.send(frameOut, (frame) => {
      button.disabled = false;
      if (hadFocus && (document.activeElement === document.body || !document.activeElement)) {
        queueMicrotask(() => (button.checkVisibility() ? button.focus() : focusNext()));
      }
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
