/*
 * The chat pane's first screen, loaded by loader.js when the pane first shows it (WID-5: the
 * button's script stays small): the pre-chat survey (WID-10, WID-11), and when nobody can answer
 * (LIVE-4) the admin's message, then the choice to wait or the offline form — name, email and
 * message, sent to `POST offline`, become a case an agent of the widget's queue finds.
 * Everything it uses comes from the loader through its script element (no global of its own,
 * WID-4); the offline form's words come from the server.
 */
(() => {
  "use strict";
  const tag = document.currentScript;
  const oc = tag && tag.oc;
  if (!oc) return;
  tag.oc = null;
  const { el, call, withVisitor, fail, emit, pageUrl, gettext, oops, config, visitor, start } = oc;
  const ui = oc.ui;

  // A refused form: each field's messages beside it, marked invalid, the focus on the first one;
  // without any, the answer's own message (or "try again") for the whole form.
  const showFieldErrors = (fields, errorsByName, formError, message) => {
    let firstBad = null;
    for (const [name, messages] of Object.entries(errorsByName)) {
      const field = fields[name];
      if (!field) continue;
      field.error.textContent = [].concat(messages).join(" ");
      field.input.setAttribute("aria-invalid", "true");
      firstBad = firstBad || field.input;
    }
    if (firstBad) firstBad.focus();
    else formError.textContent = message || oops();
  };

  const offline = (focus) => {
    const s = config.strings;
    const form = el("form", { class: "offline", novalidate: true, "data-testid": "offline-form" });
    const fields = {};
    for (const [name, label, type] of [["name", s.offlineName, "text"], ["email", s.offlineEmail, "email"], ["message", s.offlineMessage]]) {
      const id = `oc-off-${name}`;
      const attrs = { id, name, "aria-required": "true", "aria-describedby": `${id}-err`, "data-testid": `offline-${name}` };
      const input = type ? el("input", { ...attrs, type, autocomplete: name, maxlength: name === "name" ? 100 : 254 }) : el("textarea", { ...attrs, rows: 4 });
      const error = el("span", { class: "err", id: `${id}-err`, "data-testid": `offline-error-${name}` });
      form.append(el("div", {}, el("label", { for: id }, el("span", { text: label }), input), error));
      fields[name] = { input, error };
    }
    const formError = el("p", { class: "err", role: "alert" });
    const submit = el("button", { type: "submit", "data-testid": "offline-submit", text: s.offlineSend });
    form.append(formError, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      formError.textContent = "";
      const body = { url: pageUrl(), language: navigator.language || "" };
      for (const [name, { input, error }] of Object.entries(fields)) {
        body[name] = input.value;
        error.textContent = "";
        input.removeAttribute("aria-invalid");
      }
      try {
        await withVisitor(() => call("offline", { ...body, visitor_token: visitor() }));
        const done = el("p", { class: "note", role: "status", tabindex: "-1", "data-testid": "offline-sent", text: s.offlineSent });
        form.replaceWith(done);
        done.focus(); // the form is gone: focus stays in the pane
        emit("offlineMessageSent", {});
      } catch (e) {
        showFieldErrors(fields, e.errors || {}, formError, e.message);
        fail(e.code, e.message);
      } finally {
        submit.disabled = false;
      }
    });
    ui.body.append(form);
    if (focus) fields.name.input.focus();
  };


  // WID-10, WID-11: the pre-chat survey; the server's per-question errors are shown by their fields.
  const prechat = (focus) => {
    // LIVE-4: nobody can answer now. The admin's message; then the offline form, or the choice to
    // wait where the queue is open, or nothing more (out of hours a live chat would end at once).
    const a = config.availability || { available: true, may_wait: true };
    if (!a.available) {
      ui.body.append(el("p", { class: "note", role: "status", "data-testid": "unavailable-message", text: a.message }));
      if (!a.may_wait) return config.when_unavailable === "offline_form" && offline(focus);
    }
    const fields = {};
    const form = el("form", { novalidate: true, "data-testid": "prechat-form" });
    if (config.greeting) form.append(el("p", { class: "note", text: config.greeting }));
    for (const q of config.prechat_questions) {
      const id = `oc-q-${q.name}`;
      const attrs = { id, name: q.name, "aria-required": q.required ? "true" : false, "aria-describedby": `${id}-err`, "data-testid": `prechat-field-${q.name}` };
      let input;
      if (q.kind === "multi_line") input = el("textarea", { ...attrs, rows: 3 });
      else if (q.kind === "option_set") input = el("select", attrs, el("option", { value: "", text: gettext("Choose…") }), ...q.choices.map((c) => el("option", { value: c, text: c })));
      else if (q.kind === "consent") input = el("input", { ...attrs, type: "checkbox" });
      else input = el("input", { ...attrs, type: "text", maxlength: 500 });
      const mark = q.required ? el("span", { class: "req", title: gettext("required"), "aria-hidden": "true", text: " *" }) : null;
      const error = el("span", { class: "err", id: `${id}-err`, "data-testid": `prechat-error-${q.name}` });
      let label;
      if (q.kind === "consent") {
        const text = el("span", { text: q.label }, mark);
        if (/^https?:\/\//i.test(q.consent_url)) text.append(" ", el("a", { href: q.consent_url, target: "_blank", rel: "noopener noreferrer", text: "↗", "aria-label": q.consent_url }));
        label = el("label", { class: "consent", for: id }, input, text);
      } else label = el("label", { for: id }, el("span", { text: q.label }, mark), input);
      form.append(el("div", {}, label, error));
      fields[q.name] = { input, error, q };
    }
    const submit = el("button", { type: "submit", "data-testid": "prechat-submit", text: a.available ? gettext("Start chat") : config.strings.wait });
    const formError = el("p", { class: "err", role: "alert" });
    form.append(formError, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answers = {};
      for (const [name, { input, q }] of Object.entries(fields)) {
        const value = q.kind === "consent" ? input.checked : input.value.trim();
        if (value !== "" && value !== false) answers[name] = value;
      }
      submit.disabled = true;
      formError.textContent = "";
      Object.values(fields).forEach(({ input, error }) => { error.textContent = ""; input.removeAttribute("aria-invalid"); });
      try {
        await start(answers);
      } catch (e) {
        showFieldErrors(fields, (e.errors && e.errors.prechat) || {}, formError, e.message);
      } finally {
        submit.disabled = false;
      }
    });
    ui.body.append(form);
    const first = focus && form.querySelector("input,select,textarea,button");
    if (first) first.focus();
  };


  // The post-chat survey (issue 16): the widget's scale, an optional comment, the extra questions.
  const survey = () => {
    const s = config.strings;
    const { rating: scale, comment, questions } = config.survey;
    const form = el("form", { class: "offline", novalidate: true, "data-testid": "survey" });
    const group = el("div", { role: "radiogroup", "aria-label": s.surveyTitle, class: "bar" });
    let chosen = null;
    const choices = scale === "thumbs" ? [[1, "👍", s.surveyGood], [0, "👎", s.surveyBad]]
      : [1, 2, 3, 4, 5].map((n) => [n, "★".repeat(n), s.surveyStar.replace("{n}", n)]);
    for (const [value, face, label] of choices) {
      const button = el("button", {
        type: "button", class: "plain", role: "radio", "aria-checked": "false", "aria-label": label,
        "data-testid": `survey-rating-${value}`, text: face,
        onclick: () => {
          chosen = value;
          group.querySelectorAll("[role=radio]").forEach((b) => b.setAttribute("aria-checked", String(b === button)));
        },
      });
      group.append(button);
    }
    form.append(el("p", { class: "note", text: s.surveyTitle }), group);
    const texts = [];
    if (comment) {
      const box = el("textarea", { id: "oc-survey-comment", rows: 2, maxlength: 2000, "data-testid": "survey-comment" });
      form.append(el("label", { for: "oc-survey-comment" }, el("span", { text: s.surveyComment }), box));
      texts.comment = box;
    }
    questions.forEach((label, i) => {
      const input = el("input", { id: `oc-survey-${i}`, type: "text", maxlength: 500, "data-testid": `survey-answer-${i}` });
      form.append(el("label", { for: `oc-survey-${i}` }, el("span", { text: label }), input));
      texts.push(input);
    });
    const formError = el("p", { class: "err", role: "alert" });
    const submit = el("button", { type: "submit", "data-testid": "survey-submit", text: s.surveySend });
    form.append(formError, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chat = oc.chat();
      if (chosen == null || !chat) { group.querySelector("button").focus(); return; }
      submit.disabled = true;
      try {
        await call("survey", {
          token: chat.token, auth_token: await oc.auth(), rating: chosen,
          comment: texts.comment ? texts.comment.value : "", answers: texts.map((input) => input.value),
        });
        const done = el("p", { class: "note", role: "status", tabindex: "-1", "data-testid": "survey-thanks", text: s.surveyThanks });
        form.replaceWith(done);
        done.focus();
        emit("surveyAnswered", { id: chat.id, rating: chosen });
      } catch (e) {
        formError.textContent = e.message || oops();
        fail(e.code, e.message);
      } finally {
        submit.disabled = false;
      }
    });
    ui.body.append(form);
    ui.body.scrollTop = ui.body.scrollHeight;
  };

  // After the chat (issue 16): the transcript to download or, where mail is set up, by email;
  // then the survey, if the widget has one.
  const after = () => {
    const s = config.strings;
    const chat = oc.chat();
    const status = el("p", { class: "note", role: "status" });
    const download = el("button", { type: "button", class: "plain", "data-testid": "transcript-download", text: s.transcript, onclick: async () => {
      try {
        const url = `${oc.api}transcript/?${new URLSearchParams({ token: chat.token, auth_token: await oc.auth() })}`;
        const response = await fetch(url, { mode: "cors", credentials: "omit" });
        if (!response.ok) throw Object.assign(new Error(oops()), { code: "transcript_failed" });
        const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "chat-transcript.txt", hidden: true });
        ui.shadow.append(link);
        link.click();
        link.remove();
      } catch (e) { status.textContent = e.message || oops(); fail(e.code, e.message); }
    } });
    const box = el("div", { class: "offline", "data-testid": "transcript" }, download);
    if (config.transcript_email) {
      const email = el("input", { id: "oc-transcript-email", type: "email", autocomplete: "email", maxlength: 254, "data-testid": "transcript-email" });
      const send = el("button", { type: "button", class: "plain", "data-testid": "transcript-email-send", text: s.transcriptEmail, onclick: async () => {
        try {
          await call("transcript/email", { token: chat.token, auth_token: await oc.auth(), email: email.value });
          status.textContent = s.transcriptSent;
        } catch (e) { status.textContent = e.message || oops(); fail(e.code, e.message); }
      } });
      box.append(el("label", { for: "oc-transcript-email" }, el("span", { text: s.offlineEmail }), email), send);
    }
    box.append(status);
    ui.body.append(box);
    if (config.survey) survey();
  };

  oc.resolve({ prechat, after });
})();
