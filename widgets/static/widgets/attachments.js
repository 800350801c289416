/*
 * The chat widget's file control (issue 16), loaded by loader.js only when a chat shows, so the
 * script that draws the button stays small. A labelled button opens the file picker; files can
 * also be dropped on the pane or pasted into the message box. One upload at a time, with a
 * progress bar, to POST /widget/<KEY>/attachments/ (multipart: the conversation token and a
 * client id, so a retried upload is stored once). The queue, the retries and the file sources
 * are the workspace's too: core/uploads.js, a module imported from beside this script's own
 * address. The stored message then comes over the socket like any other and is drawn from the
 * server's parts. Every word comes from the server.
 */
(() => {
  "use strict";
  const tag = document.currentScript;
  if (!tag || typeof tag.register !== "function") return;

  const mount = ({ uploadPost, uploadQueue, fileSources }, { row, drop, composer, notice, config, api, el, credentials }) => {
    const words = config.strings;
    const input = el("input", { type: "file", multiple: true, accept: config.accept, hidden: true, tabindex: "-1", "data-testid": "attach-input" });
    const button = el("button", {
      type: "button", class: "plain", "aria-label": words.attach, title: words.attach, "data-testid": "attach",
      onclick: () => input.click(),
    });
    // A drawn paperclip, not an emoji: a phone or a desktop without an emoji font showed a box.
    const SVG = "http://www.w3.org/2000/svg";
    const clip = document.createElementNS(SVG, "svg");
    for (const [name, value] of Object.entries({ viewBox: "0 0 24 24", width: "20", height: "20", "aria-hidden": "true", focusable: "false" })) clip.setAttribute(name, value);
    const wire = document.createElementNS(SVG, "path");
    for (const [name, value] of Object.entries({ d: "M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.4 8.4a1.7 1.7 0 0 1-2.4-2.4l7.6-7.6", fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round" })) wire.setAttribute(name, value);
    clip.append(wire);
    button.append(clip);
    const progress = el("progress", { max: "1", value: "0", hidden: true, "aria-label": words.progress, "data-testid": "upload-progress" });
    row.insertBefore(button, row.lastElementChild); // beside Send
    row.append(input);
    row.before(progress);
    const say = (text) => { notice.textContent = text; };

    const queue = uploadQueue({
      begin: (file) => {
        if (file.size > config.max_bytes) {
          say(words.too_large);
          return false;
        }
        say(words.uploading.replace("%(name)s", file.name));
        progress.value = "0";
        progress.hidden = false;
        return true;
      },
      post: async (item) => {
        const { token, auth_token: authToken } = await credentials();
        const fields = [["token", token || ""], ...(authToken ? [["auth_token", authToken]] : [])];
        return uploadPost({ url: `${api}attachments/`, item, fields, progress });
      },
      end: (answer) => {
        progress.hidden = true;
        say(answer.status === 200 || answer.status === 201 ? "" : answer.body.message || words.failed);
      },
    });
    fileSources({
      input, drop, composer, send: queue.send,
      over: () => say(words.drop),
      leave: () => { if (!queue.busy()) say(""); },
    });
  };

  import(new URL("../core/uploads.js", tag.src).href).then((shared) => {
    tag.register({ mount: (parts) => mount(shared, parts) });
  });
})();
