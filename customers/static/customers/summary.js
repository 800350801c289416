// The customer summary on the conversation page (SUM-2..16): search and link a contact, an
// account or a case, create one in place, edit skills when allowed, write quick notes, switch and
// page the timeline. It stays current (SUM-9): on a `summary.changed` frame for this conversation
// (workspace/core.js passes every socket frame on as a "workspace:frame" DOM event) it re-reads the
// summary's JSON and redraws. Every text from the server goes in with textContent (SEC-2).
import { el } from "../core/dom.js";

(() => {
  "use strict";

  const root = document.querySelector("[data-summary]");
  if (!root) return;

  // Words: gettext and interpolate from the workspace's JavaScriptCatalog (/jsi18n/, I18N-1).
  const conversation = Number(root.dataset.conversationId);
  const base = root.dataset.url;
  const csrf = (root.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const timelineSection = root.querySelector('[data-section="timeline"]');
  const recordSelect = root.querySelector("[data-timeline-record]");
  const timelineList = root.querySelector("[data-timeline]");
  const moreButton = root.querySelector("[data-timeline-more]");
  const errorBox = root.querySelector("[data-summary-error]");
  let readOnly = root.dataset.readOnly === "true";

  const when = (iso) => {
    const node = el("time", { class: "ws-meta", datetime: iso });
    // The page's language (the agent's setting, I18N-1), not the browser's.
    node.textContent = new Date(iso).toLocaleString(document.documentElement.lang || [], { dateStyle: "short", timeStyle: "short" });
    return node;
  };
  const showError = (box, message) => {
    box.textContent = message || "";
    box.hidden = !message;
  };

  async function call(method, url, body) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.message) || gettext("That did not work; try again."));
      error.data = data;
      throw error;
    }
    return data;
  }

  // A form's error: the message and each field's first problem, as text.
  function formError(form, error) {
    const box = form.querySelector("[data-form-error]");
    const lines = [error.message];
    const errors = (error.data && error.data.errors) || {};
    for (const [name, problems] of Object.entries(errors)) {
      const first = Array.isArray(problems) ? problems[0] : problems;
      if (first) lines.push(name === "non_field_errors" ? String(first) : `${name}: ${first}`);
    }
    showError(box, lines.join(" "));
  }

  // --- Drawing ---------------------------------------------------------------------------
  function card(data) {
    const node = el("div", { class: "sum-card", "data-testid": `customer-${data.kind}`, "data-kind": data.kind, "data-id": data.id });
    const head = el("div", { class: "sum-card__head" });
    head.append(el("h3", { "data-testid": `customer-${data.kind}-name` }, data.name));
    head.append(unlinkButton(data.kind));
    node.append(head);
    const list = el("dl", { class: "ws-fields" });
    for (const field of data.fields) {
      const row = el("div");
      row.append(el("dt", {}, field.label), el("dd", { "data-testid": `customer-${data.kind}-${field.name}` }, field.value));
      list.append(row);
    }
    node.append(list);
    return node;
  }

  function unlinkButton(kind) {
    return el(
      "button",
      { type: "button", class: "ws-button ws-button--quiet", "data-unlink": kind, "data-testid": `unlink-${kind}`, "data-editable": true, hidden: readOnly },
      gettext("Unlink"),
    );
  }

  function drawCustomer(data) {
    const box = root.querySelector("[data-customer-cards]");
    const cards = [data.contact, data.account].filter(Boolean).map(card);
    if (!cards.length) cards.push(el("p", { class: "ws-empty", "data-testid": "no-customer" }, gettext("No contact or account is linked yet.")));
    if (data.suggestion) cards.push(suggestionCard(data.suggestion));
    box.replaceChildren(...cards);
  }

  // SUM-5: a contact matching what an unverified customer typed: her name only, and a button to confirm.
  function suggestionCard(match) {
    const node = el("div", { class: "sum-card sum-suggestion", role: "note", "data-testid": "possible-match", "data-contact-id": match.contact_id });
    const label = el("p");
    label.append(el("strong", { "data-testid": "possible-match-label" }, match.label));
    node.append(label, el("p", { class: "ws-meta" }, interpolate(gettext("Matched by %(what)s. Confirm only once the customer has proved who they are."), { what: match.matched_by }, true)));
    node.append(
      el(
        "button",
        { type: "button", class: "ws-button", "data-confirm-match": match.contact_id, "data-testid": "confirm-match", "data-editable": true, hidden: readOnly },
        gettext("Confirm match"),
      ),
    );
    return node;
  }

  function drawConversation(data) {
    root.querySelector("[data-skills]").textContent = data.skills.map((skill) => skill.name).join(", ") || "—";
    root.querySelector("[data-queue]").textContent = data.queue || "—";
    const editor = root.querySelector("[data-skill-editor]");
    editor.hidden = !data.may_edit_skills;
    const chosen = new Set(data.skills.map((skill) => skill.id));
    const boxes = root.querySelector("[data-skill-choices]");
    const legend = boxes.querySelector("legend");
    const labels = data.skill_choices.map((skill) => {
      const label = el("label");
      label.append(el("input", { type: "checkbox", name: "skills", value: skill.id, checked: chosen.has(skill.id) }), ` ${skill.name}`);
      return label;
    });
    boxes.replaceChildren(...[legend, ...labels].filter(Boolean));
  }

  function drawCase(data) {
    const box = root.querySelector("[data-case-card]");
    if (!data.case) {
      box.replaceChildren(el("p", { class: "ws-empty", "data-testid": "no-case" }, gettext("No case is linked.")));
    } else {
      const node = el("div", { class: "sum-card", "data-testid": "linked-case", "data-id": data.case.id });
      const head = el("div", { class: "sum-card__head" });
      const title = el("h3");
      title.append(el("span", { "data-testid": "linked-case-number" }, data.case.number), " ", el("span", { "data-testid": "linked-case-title" }, data.case.title));
      head.append(title, unlinkButton("case"));
      node.append(head, el("p", { class: "ws-meta" }, `${data.case.status_label} · ${data.case.priority_label}`));
      box.replaceChildren(node);
    }
    const recent = root.querySelector("[data-recent-cases]");
    const rows = data.recent_cases.map((item) => {
      const row = el("li", { "data-testid": "recent-case", "data-id": item.id });
      row.append(el("span", {}, `${item.number} ${item.title}`), " ", el("span", { class: "ws-meta" }, item.status_label), " ");
      row.append(
        el(
          "button",
          {
            type: "button",
            class: "ws-button ws-button--quiet",
            "data-link-case": item.id,
            "data-testid": "link-recent-case",
            "data-editable": true,
            hidden: readOnly || (data.case && data.case.id === item.id),
          },
          gettext("Link"),
        ),
      );
      return row;
    });
    if (!rows.length) rows.push(el("li", { class: "ws-empty" }, gettext("No cases yet.")));
    recent.replaceChildren(...rows);
  }

  function drawRecords(records) {
    const previous = recordSelect.value;
    recordSelect.replaceChildren(...records.map((record) => el("option", { value: record.kind }, record.label)));
    if (records.some((record) => record.kind === previous)) recordSelect.value = previous;
    root.querySelector("[data-records-label]").hidden = !records.length;
    root.querySelector("[data-quick-note]").hidden = readOnly || !records.length;
  }

  function timelineItem(item) {
    const node = el("li", { class: `sum-item sum-item--${item.kind}`, "data-testid": "timeline-item", "data-kind": item.kind });
    node.append(when(item.at), " ", el("strong", {}, item.title));
    if (item.author) node.append(" ", el("span", { class: "ws-meta" }, interpolate(gettext("by %(name)s"), { name: item.author }, true)));
    if (item.text) node.append(el("p", { class: "sum-item__text" }, item.text));
    return node;
  }

  function drawTimeline(page, { append = false } = {}) {
    const items = page.items.map(timelineItem);
    if (append) timelineList.append(...items);
    else {
      if (!items.length) items.push(el("li", { class: "ws-empty" }, page.record ? gettext("No activity yet.") : gettext("Link a contact, an account or a case to see its timeline.")));
      timelineList.replaceChildren(...items);
    }
    moreButton.dataset.cursor = page.next_cursor || "";
    moreButton.hidden = !page.next_cursor;
  }

  function applyReadOnly(value) {
    readOnly = value;
    root.dataset.readOnly = String(value);
    for (const node of root.querySelectorAll("[data-editable]")) node.hidden = value;
  }

  // --- Reading ---------------------------------------------------------------------------
  // Answers may arrive out of order (a live refresh and the agent's own change): only the
  // latest request of each kind is drawn.
  let summaryGeneration = 0;
  let timelineGeneration = 0;

  async function refresh() {
    const mine = ++summaryGeneration;
    let data;
    try {
      data = await call("GET", base);
    } catch (error) {
      showError(errorBox, error.message);
      return;
    }
    if (mine === summaryGeneration) apply(data);
  }

  function apply(data) {
    showError(errorBox, "");
    applyReadOnly(data.read_only);
    drawCustomer(data);
    drawConversation(data);
    drawCase(data);
    drawRecords(data.linked_records); // keeps the agent's choice while that record stays linked
    const chosen = recordSelect.value;
    if (!chosen || (data.timeline.record && data.timeline.record.kind === chosen)) {
      timelineGeneration += 1;
      drawTimeline(data.timeline);
    } else {
      loadTimeline(chosen);
    }
  }

  async function loadTimeline(kind, cursor) {
    const mine = ++timelineGeneration;
    const params = new URLSearchParams({ record: kind });
    if (cursor) params.set("cursor", cursor);
    try {
      const page = await call("GET", `${timelineSection.dataset.timelineUrl}?${params}`);
      if (mine === timelineGeneration && recordSelect.value === kind) drawTimeline(page, { append: Boolean(cursor) });
    } catch (error) {
      showError(errorBox, error.message);
    }
  }

  // --- Acting ----------------------------------------------------------------------------
  async function change(url, body, form) {
    try {
      const data = await call("POST", url, body);
      summaryGeneration += 1; // this answer is newer than any refresh still on its way
      apply(data);
      return true;
    } catch (error) {
      if (form) formError(form, error);
      else showError(errorBox, error.message);
      return false;
    }
  }

  for (const box of root.querySelectorAll("[data-search]")) {
    const input = box.querySelector("[data-search-input]");
    const kindSelect = box.querySelector("[data-search-kind]");
    const results = box.querySelector("[data-search-results]");
    let timer = null;
    let asked = 0;
    const search = async () => {
      const query = input.value.trim();
      const kind = kindSelect ? kindSelect.value : box.dataset.kind;
      if (query.length < 2) {
        results.replaceChildren();
        return;
      }
      const mine = ++asked;
      results.replaceChildren(el("li", { class: "ws-meta" }, gettext("Searching…")));
      try {
        const data = await call("GET", `${base}search/?${new URLSearchParams({ kind, q: query })}`);
        if (mine !== asked) return;
        const rows = data.results.map((record) => {
          const row = el("li");
          const button = el("button", { type: "button", class: "sum-result", "data-testid": "search-result" }, record.label);
          button.addEventListener("click", async () => {
            if (await change(`${base}links/`, { kind: record.kind, id: record.id })) {
              input.value = "";
              results.replaceChildren();
            }
          });
          row.append(button);
          return row;
        });
        if (!rows.length) rows.push(el("li", { class: "ws-empty" }, gettext("Nothing found.")));
        results.replaceChildren(...rows);
      } catch (error) {
        if (mine === asked) results.replaceChildren(el("li", { class: "ws-error" }, error.message));
      }
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    if (kindSelect) kindSelect.addEventListener("change", search);
  }

  for (const form of root.querySelectorAll("[data-create]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const fields = {};
      for (const input of form.querySelectorAll("[name]")) {
        if (input.value.trim()) fields[input.name] = input.value.trim();
      }
      const button = form.querySelector("[type=submit]");
      button.disabled = true;
      const done = await change(`${base}new/${form.dataset.create}/`, fields, form);
      button.disabled = false;
      if (done) {
        form.reset();
        showError(form.querySelector("[data-form-error]"), "");
        form.closest("details").open = false;
      }
    });
  }

  root.addEventListener("click", (event) => {
    const unlink = event.target.closest("[data-unlink]");
    if (unlink) change(`${base}links/${unlink.dataset.unlink}/unlink/`, {});
    const confirm = event.target.closest("[data-confirm-match]");
    if (confirm) change(`${base}match/confirm/`, { contact: Number(confirm.dataset.confirmMatch) });
    const linkCase = event.target.closest("[data-link-case]");
    if (linkCase) change(`${base}links/`, { kind: "case", id: Number(linkCase.dataset.linkCase) });
  });

  const skillsForm = root.querySelector("[data-skills-form]");
  skillsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const skills = Array.from(skillsForm.querySelectorAll("input[name=skills]:checked"), (box) => Number(box.value));
    if (await change(`${base}skills/`, { skills }, skillsForm)) showError(skillsForm.querySelector("[data-form-error]"), "");
  });

  const noteForm = root.querySelector("[data-quick-note]");
  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = noteForm.querySelector("textarea");
    const kind = recordSelect.value;
    if (!text.value.trim() || !kind) return;
    try {
      const page = await call("POST", timelineSection.dataset.notesUrl, { record: kind, text: text.value });
      text.value = "";
      showError(noteForm.querySelector("[data-form-error]"), "");
      timelineGeneration += 1;
      if (recordSelect.value === kind) drawTimeline(page);
    } catch (error) {
      formError(noteForm, error);
    }
  });

  recordSelect.addEventListener("change", () => loadTimeline(recordSelect.value));
  moreButton.addEventListener("click", () => loadTimeline(recordSelect.value, moreButton.dataset.cursor));

  // SUM-9: a transfer, an edited skill or a newly linked record shows without a reload. A status
  // change may make the summary read-only (closed; transferred away).
  const REFRESH_ON = new Set(["summary.changed", "conversation.transferred", "conversation.status"]);
  document.addEventListener("workspace:frame", (event) => {
    const frame = event.detail || {};
    if (frame.conversation !== conversation) return;
    if (REFRESH_ON.has(frame.type)) refresh();
  });
})();
