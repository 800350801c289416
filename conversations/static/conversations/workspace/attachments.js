// The agent's files (issue 16): the control the conversation page renders (_attach_control.html)
// sends files by the button (the file picker), by dropping them on the chat and by pasting them
// in the message box: one at a time, with a progress bar, to the workspace's upload endpoint
// (session + CSRF, a client id so a retried upload is stored once; core/uploads.js). The stored
// message comes back over the socket and is drawn by the server's message template like any other.
import { fileSources, uploadPost, uploadQueue } from "../../core/uploads.js";

const control = document.querySelector("[data-attach]");

if (control) {
  const chat = control.closest("[data-chat]");
  const input = control.querySelector("input[type=file]");
  const progress = control.querySelector("progress");
  const error = chat.querySelector("[data-testid=chat-error]");
  const csrf = control.querySelector("[name=csrfmiddlewaretoken]").value;
  const say = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };

  const { send } = uploadQueue({
    begin: (file) => {
      progress.value = 0;
      progress.hidden = false;
      progress.title = control.dataset.uploading.replace("%(name)s", file.name);
      return true;
    },
    post: (item) =>
      uploadPost({
        url: control.dataset.uploadUrl,
        item,
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        progress,
      }),
    end: (answer) => {
      progress.hidden = true;
      say(answer.status === 200 || answer.status === 201 ? "" : answer.body.message || control.dataset.failed);
    },
  });

  control.querySelector("[data-testid=attach]").addEventListener("click", () => input.click());
  fileSources({
    input,
    drop: chat,
    composer: chat.querySelector("#composer"),
    send,
    accepts: () => !control.closest("[hidden]"),
    over: () => {
      chat.classList.add("ws-chat--drop");
      chat.title = control.dataset.drop;
    },
    leave: () => chat.classList.remove("ws-chat--drop"),
  });
}
