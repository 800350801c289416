// The inbox on every workspace page (issue 15): the counts in the dashboard's tabs and in the
// browser tab's title follow the socket's inbox.counts; the dashboard re-reads its inbox panel
// (server-rendered, escaped) when they change; an optional sound on new work and on a customer's
// message in a conversation that is not in front of the agent; the conversation on screen is
// marked read as its messages arrive.
import { body, socket } from "./core.js";

const baseTitle = document.title;
const chat = document.querySelector("[data-chat]");
const onScreen = chat ? Number(chat.dataset.conversationId) : null;
const visible = () => document.visibilityState === "visible";

function showCounts(counts) {
  for (const [key, value] of Object.entries(counts)) {
    for (const node of document.querySelectorAll(`[data-testid="inbox-count-${key}"]`)) {
      node.dataset.count = value;
      node.textContent = value;
    }
  }
  const waiting = (counts.unread || 0) + (counts.queues || 0);
  document.title = waiting > 0 ? `(${waiting}) ${baseTitle}` : baseTitle;
}

let reading = null;
function rereadInbox() {
  const panel = document.querySelector("[data-inbox]");
  if (!panel || reading) return;
  const query = new URLSearchParams(location.search);
  query.set("tab", panel.dataset.tab);
  reading = fetch(`${body.dataset.inboxUrl}?${query}`, { credentials: "same-origin", headers: { Accept: "text/html" } })
    .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
    .then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-inbox]");
      const current = document.querySelector("[data-inbox]");
      if (!fresh || !current) return;
      // Keep the keyboard where it was: the focused tab or row link is focused again after the swap.
      const focused = current.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
      const focusedTab = document.activeElement?.dataset?.tabKey;
      current.replaceWith(document.adoptNode(fresh));
      if (focusedTab) fresh.querySelector(`[data-tab-key="${focusedTab}"]`)?.focus();
      else if (focused) fresh.querySelector(`[data-testid="${focused}"]`)?.focus();
    })
    .catch(() => {})
    .finally(() => {
      reading = null;
    });
}

// A short tone, made here: no sound file to load. Browsers may refuse audio before the agent has
// interacted with the page; then there is no sound, and nothing else changes.
let audio = null;
function playSound(reason) {
  if (body.dataset.inboxSound !== "on") return;
  document.dispatchEvent(new CustomEvent("workspace:sound", { detail: { reason } }));
  try {
    audio = audio || new AudioContext();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = reason === "new_work" ? 880 : 660;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.3);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.3);
  } catch {
    // no audio on this browser
  }
}

const askCounts = () => socket.send({ type: "inbox.counts" });

socket.on("inbox.counts", (frame) => {
  showCounts(frame.counts || {});
  if (frame.reason) rereadInbox();
  if (frame.reason === "customer_message" && !(frame.conversation === onScreen && visible())) {
    playSound("customer_message");
  }
});
for (const type of ["queue.items_changed", "offer.created"]) {
  socket.on(type, () => {
    askCounts();
    rereadInbox();
    playSound("new_work");
  });
}
for (const type of ["conversation.status", "offer.accepted", "conversation.transferred"]) {
  socket.on(type, () => {
    askCounts();
    rereadInbox();
  });
}
socket.onOpen.push(askCounts); // after a reconnect, catch up on what changed meanwhile

// The conversation in front of the agent is read as its messages arrive.
if (onScreen) {
  let readSeq = Number(chat.dataset.lastSeq) || 0;
  let unreadSeq = readSeq;
  const markRead = () => {
    if (!visible() || unreadSeq <= readSeq) return;
    readSeq = unreadSeq;
    socket.send({ type: "conversation.read", conversation: onScreen, seq: readSeq });
  };
  socket.on("conversation.message", (frame) => {
    if (frame.conversation !== onScreen) return;
    unreadSeq = Math.max(unreadSeq, frame.seq);
    markRead();
  });
  document.addEventListener("visibilitychange", markRead);
}
