// The composer's tools on the conversation page (issue 15): the draft kept across a reload,
// canned responses (/ plus a shortcut, or the picker: a listbox driven by the arrow keys, Enter
// and Escape), private notes and the wrap-up code. Loaded before conversation.js, so its keys
// come first while the picker is open. Words come from the page's strings; notes are the
// server's fragments of templates/conversations/_message.html, like every message.
import { fragment, readJson, socket } from "./core.js";

const root = document.querySelector("[data-chat]");
if (root) setUpComposer(root);

function setUpComposer(root) {
  const conversation = Number(root.dataset.conversationId);
  const composer = root.querySelector('[data-testid="composer"]');
  const list = root.querySelector('[data-testid="messages"]');
  const chatError = root.querySelector('[data-testid="chat-error"]');
  const showError = (message) => {
    chatError.textContent = message || "";
    chatError.hidden = !message;
  };

  // --- The draft: per conversation, in this browser, cleared when sent -------------------
  const draftKey = `omni.workspace.draft.${conversation}`;
  const storage = (() => {
    try {
      return window.localStorage;
    } catch {
      return null; // storage refused (private mode): no draft, the composer still works
    }
  })();
  if (composer && storage) {
    const draft = storage.getItem(draftKey);
    if (draft && !composer.value) composer.value = draft;
    composer.addEventListener("input", () => {
      if (composer.value) storage.setItem(draftKey, composer.value);
      else storage.removeItem(draftKey);
    });
  }
  const clearComposer = () => {
    composer.value = "";
    composer.dispatchEvent(new Event("input")); // the draft goes, the typing indicator stops
  };

  // --- Private notes ----------------------------------------------------------------------
  let lastNote = Number(root.dataset.lastNote) || 0;
  socket.on("conversation.note", (frame) => {
    if (frame.conversation !== conversation || frame.note <= lastNote) return;
    lastNote = frame.note;
    root.dataset.lastNote = String(lastNote); // the join after a reconnect resumes after it
    const node = fragment(frame.html);
    if (node) list.append(node);
    list.scrollTop = list.scrollHeight;
  });
  const noteButton = root.querySelector('[data-testid="post-note"]');
  noteButton?.addEventListener("click", () => {
    const text = composer.value;
    if (!text.trim()) {
      composer.focus();
      return;
    }
    noteButton.disabled = true;
    socket.send({ type: "note.post", conversation, text }, (frame) => {
      noteButton.disabled = false;
      if (frame.type === "error") {
        showError(frame.message);
        return;
      }
      showError("");
      clearComposer();
      composer.focus();
    });
  });

  // --- The wrap-up code -------------------------------------------------------------------
  const wrapUp = root.querySelector("[data-wrap-up]");
  const codeSelect = root.querySelector('[data-testid="wrap-up-code"]');
  codeSelect?.addEventListener("change", () => {
    const code = Number(codeSelect.value);
    if (!code) return;
    socket.send({ type: "conversation.wrap_up_code", conversation, wrap_up_code: code }, (frame) => {
      showError(frame.type === "error" ? frame.message : "");
    });
  });
  socket.on("conversation.status", (frame) => {
    if (frame.conversation !== conversation || !wrapUp) return;
    wrapUp.hidden = root.dataset.holdsIt !== "true" || frame.status === "open" || frame.status === "closed";
  });
  socket.on("conversation.wrap_up_code", (frame) => {
    if (frame.conversation === conversation && codeSelect) codeSelect.value = String(frame.wrap_up_code || "");
  });

  // --- Canned responses -------------------------------------------------------------------
  const replies = readJson("ws-canned-replies", []);
  const picker = root.querySelector("[data-canned]");
  const openButton = root.querySelector('[data-testid="canned-open"]');
  const search = root.querySelector('[data-testid="canned-search"]');
  const listbox = root.querySelector('[data-testid="canned-list"]');
  const empty = root.querySelector('[data-testid="canned-empty"]');
  if (!composer || !picker) return;
  let shown = [];
  let active = -1;
  let mode = null; // "slash": typed in the message box; "search": the picker's own field
  let slashStart = -1;

  const owner = () => (mode === "search" ? search : composer);
  function render(query) {
    const q = query.toLowerCase();
    shown = replies.filter((reply) =>
      mode === "slash"
        ? reply.shortcut.toLowerCase().startsWith(q)
        : !q || reply.shortcut.toLowerCase().includes(q) || reply.title.toLowerCase().includes(q) || reply.text.toLowerCase().includes(q),
    );
    listbox.replaceChildren();
    shown.forEach((reply, index) => {
      const option = document.createElement("li");
      option.id = `canned-option-${reply.id}`;
      option.setAttribute("role", "option");
      option.dataset.testid = "canned-option";
      option.dataset.shortcut = reply.shortcut;
      const title = document.createElement("strong");
      title.textContent = `/${reply.shortcut} · ${reply.title}`;
      const preview = document.createElement("span");
      preview.className = "ws-canned__text";
      preview.textContent = reply.text;
      option.append(title, document.createTextNode(" "), preview);
      option.addEventListener("mousedown", (event) => event.preventDefault()); // focus stays
      option.addEventListener("click", () => choose(index));
      listbox.append(option);
    });
    empty.hidden = shown.length > 0;
    select(shown.length ? 0 : -1);
  }
  function select(index) {
    active = index;
    listbox.querySelectorAll('[role="option"]').forEach((option, i) => option.setAttribute("aria-selected", String(i === index)));
    const chosen = shown[index];
    if (chosen) {
      owner().setAttribute("aria-activedescendant", `canned-option-${chosen.id}`);
      document.getElementById(`canned-option-${chosen.id}`)?.scrollIntoView({ block: "nearest" });
    } else owner().removeAttribute("aria-activedescendant");
  }
  function open(how) {
    mode = how;
    picker.hidden = false;
    openButton.setAttribute("aria-expanded", "true");
    owner().setAttribute("aria-expanded", "true");
    if (how === "slash") {
      composer.setAttribute("aria-controls", "canned-list");
    }
  }
  function close({ focusComposer = false } = {}) {
    if (!mode) return;
    for (const node of [composer, search]) {
      node.removeAttribute("aria-activedescendant");
      node.setAttribute("aria-expanded", "false");
    }
    composer.removeAttribute("aria-controls");
    picker.hidden = true;
    openButton.setAttribute("aria-expanded", "false");
    mode = null;
    slashStart = -1;
    if (focusComposer) composer.focus();
  }
  function choose(index) {
    const reply = shown[index];
    if (!reply) return;
    if (mode === "slash" && slashStart >= 0) {
      const end = composer.selectionStart;
      composer.value = composer.value.slice(0, slashStart) + reply.text + composer.value.slice(end);
      composer.selectionStart = composer.selectionEnd = slashStart + reply.text.length;
    } else {
      const at = composer.selectionStart ?? composer.value.length;
      composer.value = composer.value.slice(0, at) + reply.text + composer.value.slice(composer.selectionEnd ?? at);
      composer.selectionStart = composer.selectionEnd = at + reply.text.length;
    }
    close({ focusComposer: true });
    composer.dispatchEvent(new Event("input")); // kept as the draft; the agent edits before sending
  }
  const keys = (event) => {
    if (!mode || event.isComposing) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      select((active + step + shown.length) % shown.length);
    } else if (event.key === "Enter" && !event.shiftKey) {
      if (active < 0) return; // nothing to insert: Enter sends as usual
      event.preventDefault();
      event.stopImmediatePropagation(); // not a send: it inserts the reply
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close({ focusComposer: true });
    }
  };
  composer.addEventListener("keydown", keys);
  search.addEventListener("keydown", keys);
  // "/" at the start of the box or after a space, then the shortcut's letters.
  composer.addEventListener("input", () => {
    if (mode === "search") return;
    const before = composer.value.slice(0, composer.selectionStart);
    const match = /(^|\s)\/([\w-]*)$/.exec(before);
    if (!match || !replies.length) {
      close();
      return;
    }
    slashStart = before.length - match[2].length - 1;
    if (mode !== "slash") open("slash");
    render(match[2]);
  });
  openButton.addEventListener("click", () => {
    if (mode === "search") {
      close({ focusComposer: true });
      return;
    }
    close();
    open("search");
    search.value = "";
    render("");
    search.focus();
  });
  search.addEventListener("input", () => render(search.value));
  composer.addEventListener("blur", () => {
    if (mode === "slash") setTimeout(() => document.activeElement !== composer && close(), 0);
  });
  // Sent: the stored message replaces the pending one; the draft is gone with it.
  root.querySelector("[data-composer]")?.addEventListener("submit", () => setTimeout(() => {
    if (!composer.value && storage) storage.removeItem(draftKey);
  }, 0));
}
