// The file upload both file controls share (issue 16): the chat widget's (widgets/attachments.js,
// which imports this module when a chat shows) and the workspace's
// (conversations/workspace/attachments.js). One file at a time, retried under the same client id
// when lost on the way (no answer or a 5xx), so the server stores it once; files come from the
// picker, a drop or a paste. Each control brings its own request fields, words and drop styling.
const RETRIES = 3;
const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

// POST the item's file and client id (after the caller's own ``fields``) with progress shown on
// ``progress``; resolves to {status, body} (status 0: no answer; body {} when it is not JSON).
export const uploadPost = ({ url, item, fields = [], headers = {}, progress }) =>
  new Promise((resolve) => {
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    form.append("client_id", item.id);
    form.append("file", item.file, item.file.name || "file");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) progress.value = event.loaded / event.total;
    };
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: the caller's generic words
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => resolve({ status: 0, body: {} });
    xhr.send(form);
  });

// The queue: ``begin(file)`` says whether to send it (and shows that it goes), ``post(item)``
// sends it, ``end(answer)`` shows the outcome. Returns {send(files), busy()}.
export const uploadQueue = ({ begin, post, end }) => {
  const queue = [];
  let busy = false;
  const next = async () => {
    if (busy || !queue.length) return;
    busy = true;
    const item = queue.shift();
    if (begin(item.file)) {
      let answer = await post(item);
      while ((answer.status === 0 || answer.status >= 500) && ++item.tries < RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, 1000 * item.tries));
        answer = await post(item);
      }
      end(answer);
    }
    busy = false;
    next();
  };
  const send = (files) => {
    for (const file of files) queue.push({ file, id: newId(), tries: 0 });
    next();
  };
  return { send, busy: () => busy };
};

// Files chosen in ``input``, dropped on ``drop`` (while ``accepts()``) or pasted in ``composer``
// go to ``send``; ``over`` and ``leave`` show and hide the drop hint.
export const fileSources = ({ input, drop, composer, send, accepts = () => true, over, leave }) => {
  input.addEventListener("change", () => {
    send([...input.files]);
    input.value = "";
  });
  const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  drop.addEventListener("dragover", (event) => {
    if (!hasFiles(event) || !accepts()) return;
    event.preventDefault();
    over();
  });
  drop.addEventListener("dragleave", leave);
  drop.addEventListener("drop", (event) => {
    leave();
    if (!hasFiles(event) || !accepts()) return;
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
