// The agent's files (issue 16): the control the conversation page renders (_attach_control.html)
// sends files by the button (the file picker), by dropping them on the chat and by pasting them
// in the message box: one at a time, with a progress bar, to the workspace's upload endpoint
// (session + CSRF, a client id so a retried upload is stored once). The stored message comes
// back over the socket and is drawn by the server's message template like any other.
const control = document.querySelector("[data-attach]");
const RETRIES = 3;

if (control) {
  const chat = control.closest("[data-chat]");
  const input = control.querySelector("input[type=file]");
  const button = control.querySelector("[data-testid=attach]");
  const progress = control.querySelector("progress");
  const composer = chat.querySelector("#composer");
  const error = chat.querySelector("[data-testid=chat-error]");
  const csrf = control.querySelector("[name=csrfmiddlewaretoken]").value;
  const queue = [];
  let busy = false;

  const say = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  const post = (item) =>
    new Promise((resolve) => {
      const form = new FormData();
      form.append("client_id", item.id);
      form.append("file", item.file, item.file.name || "file");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", control.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) progress.value = event.loaded / event.total;
      };
      xhr.onload = () => {
        let body = {};
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          // not JSON: the generic words
        }
        resolve({ status: xhr.status, body });
      };
      xhr.onerror = () => resolve({ status: 0, body: {} });
      xhr.send(form);
    });

  const next = async () => {
    if (busy || !queue.length) return;
    busy = true;
    const item = queue.shift();
    progress.value = 0;
    progress.hidden = false;
    progress.title = control.dataset.uploading.replace("%(name)s", item.file.name);
    let answer = await post(item);
    // Lost on the way: the same client id again, so the server stores it once.
    while ((answer.status === 0 || answer.status >= 500) && ++item.tries < RETRIES) {
      await new Promise((resolve) => setTimeout(resolve, 1000 * item.tries));
      answer = await post(item);
    }
    progress.hidden = true;
    say(answer.status === 200 || answer.status === 201 ? "" : answer.body.message || control.dataset.failed);
    busy = false;
    next();
  };
  const send = (files) => {
    for (const file of files) queue.push({ file, id: newId(), tries: 0 });
    next();
  };

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    send([...input.files]);
    input.value = "";
  });
  const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  chat.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || control.closest("[hidden]")) return;
    event.preventDefault();
    chat.classList.add("ws-chat--drop");
    chat.title = control.dataset.drop;
  });
  chat.addEventListener("dragleave", () => chat.classList.remove("ws-chat--drop"));
  chat.addEventListener("drop", (event) => {
    chat.classList.remove("ws-chat--drop");
    if (!hasFiles(event) || control.closest("[hidden]")) return;
    event.preventDefault();
    send([...event.dataTransfer.files]);
  });
  composer.addEventListener("paste", (event) => {
    const files = event.clipboardData ? [...event.clipboardData.files] : [];
    if (!files.length) return;
    event.preventDefault();
    send(files);
  });
}
