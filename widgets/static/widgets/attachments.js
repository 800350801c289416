/*
 * The chat widget's file control (issue 16), loaded by loader.js only when a chat shows, so the
 * script that draws the button stays small. A labelled button opens the file picker; files can
 * also be dropped on the pane or pasted into the message box. One upload at a time, with a
 * progress bar, to POST /widget/<KEY>/attachments/ (multipart: the conversation token and a
 * client id, so a retried upload is stored once). The stored message then comes over the socket
 * like any other and is drawn from the server's parts. Every word comes from the server.
 */
(() => {
  "use strict";
  const tag = document.currentScript;
  if (!tag || typeof tag.register !== "function") return;
  const RETRIES = 3;
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  const mount = ({ row, drop, composer, notice, config, api, el, credentials }) => {
    const words = config.strings;
    const input = el("input", { type: "file", multiple: true, accept: config.accept, hidden: true, tabindex: "-1", "data-testid": "attach-input" });
    const button = el("button", {
      type: "button", class: "plain", "aria-label": words.attach, title: words.attach, "data-testid": "attach",
      text: "📎", onclick: () => input.click(),
    });
    const progress = el("progress", { max: "1", value: "0", hidden: true, "aria-label": words.progress, "data-testid": "upload-progress" });
    row.insertBefore(button, row.lastElementChild); // beside Send
    row.append(input);
    row.before(progress);

    const queue = [];
    let busy = false;
    const say = (text) => { notice.textContent = text; };

    const post = async (item) => {
      const { token, auth_token: authToken } = await credentials();
      return new Promise((resolve) => {
        const form = new FormData();
        form.append("token", token || "");
        if (authToken) form.append("auth_token", authToken);
        form.append("client_id", item.id);
        form.append("file", item.file, item.file.name || "file");
        const xhr = new XMLHttpRequest();
        xhr.open("POST", `${api}attachments/`);
        xhr.upload.onprogress = (event) => { if (event.lengthComputable) progress.value = String(event.loaded / event.total); };
        xhr.onload = () => {
          let body = {};
          try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: the generic words */ }
          resolve({ status: xhr.status, body });
        };
        xhr.onerror = () => resolve({ status: 0, body: {} });
        xhr.send(form);
      });
    };

    const next = async () => {
      if (busy || !queue.length) return;
      busy = true;
      const item = queue.shift();
      if (item.file.size > config.max_bytes) {
        say(words.too_large);
      } else {
        say(words.uploading.replace("%(name)s", item.file.name));
        progress.value = "0";
        progress.hidden = false;
        let answer = await post(item);
        // Lost on the way (no answer, or the server was briefly away): the same client id again.
        while ((answer.status === 0 || answer.status >= 500) && ++item.tries < RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, 1000 * item.tries));
          answer = await post(item);
        }
        progress.hidden = true;
        say(answer.status === 200 || answer.status === 201 ? "" : answer.body.message || words.failed);
      }
      busy = false;
      next();
    };
    const send = (files) => {
      for (const file of files) queue.push({ file, id: newId(), tries: 0 });
      next();
    };

    input.addEventListener("change", () => { send([...input.files]); input.value = ""; });
    const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
    drop.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      say(words.drop);
    });
    drop.addEventListener("dragleave", () => { if (!busy) say(""); });
    drop.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      send([...event.dataTransfer.files]);
    });
    composer.addEventListener("paste", (event) => {
      const files = event.clipboardData ? [...event.clipboardData.files] : [];
      if (!files.length) return;
      event.preventDefault();
      send(files);
    });
  };

  tag.register({ mount });
})();
