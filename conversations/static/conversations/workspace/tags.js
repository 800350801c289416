// The conversation page's tags (issue 15): when another page puts a tag on or takes one off, the
// socket's conversation.tags redraws the list and the "Add a tag" choices. The markup is that of
// templates/conversations/_tags.html and _tag_chip.html: plain forms, so Tab and Enter still work;
// names go in as text, never as HTML.
import { el, socket } from "./core.js";

const section = document.querySelector("[data-tags]");
const chat = document.querySelector("[data-chat]");

function removeForm(tag, csrf) {
  const form = el("form", { method: "post", action: section.dataset.url, class: "ws-inline-form" });
  form.append(
    el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf }),
    el("input", { type: "hidden", name: "action", value: "remove" }),
    el("input", { type: "hidden", name: "tag", value: tag.id }),
  );
  const label = section.dataset.removeLabel.replace("__name__", tag.name);
  form.append(
    el("button", {
      type: "submit",
      class: "ws-button ws-button--quiet ws-tag__remove",
      "data-testid": "tag-remove",
      "aria-label": label,
    }, "×"),
  );
  return form;
}

function chip(tag) {
  const node = el("span", { class: "ws-tag", "data-testid": "tag-chip", "data-tag-id": tag.id }, tag.name);
  node.style.background = tag.colour; // #rrggbb, checked when the admin saved it
  node.style.color = tag.text_colour;
  return node;
}

function redraw(frame) {
  const csrf = section.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
  const list = section.querySelector("[data-testid=tag-list]");
  // The keyboard stays where it was: on the same tag's remove button, else on the choices.
  const focused = list.contains(document.activeElement)
    ? document.activeElement.closest("form")?.querySelector("[name=tag]")?.value
    : null;
  const items = (frame.tags || []).map((tag) => {
    const item = el("li");
    item.append(chip(tag), " ", removeForm(tag, csrf));
    return item;
  });
  if (!items.length) items.push(el("li", { class: "ws-meta" }, section.dataset.empty));
  list.replaceChildren(...items);
  const addForm = section.querySelector("[data-testid=tag-add-form]");
  const select = addForm.querySelector("select");
  const chosen = select.value;
  select.replaceChildren(...(frame.addable || []).map((tag) => el("option", { value: tag.id }, tag.name)));
  if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
  addForm.hidden = !(frame.addable || []).length;
  if (focused) {
    const again = list.querySelector(`input[name=tag][value="${CSS.escape(focused)}"]`);
    if (again) again.form.querySelector("button").focus();
    else if (!addForm.hidden) select.focus();
  }
}

if (section && chat) {
  const onScreen = Number(chat.dataset.conversationId);
  socket.on("conversation.tags", (frame) => {
    if (frame.conversation === onScreen) redraw(frame);
  });
}
