// Keyboard help for the agent desktop: "/" jumps to the global search from anywhere
// except while typing in a field. Everything else works without this file.
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
    return;
  }
  var target = event.target;
  var tag = target && target.tagName;
  if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) {
    return;
  }
  var search = document.getElementById("global-search");
  if (search) {
    event.preventDefault();
    search.focus();
    search.select();
  }
});

// Reply templates: choosing one puts its text (filled for this case on the server) into the
// reply field, where the agent edits it. Without this file the agent types the answer.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-insert-into]") || !select.value) {
    return;
  }
  var source = select.parentElement.querySelector('.reply-template-text[data-index="' + select.value + '"]');
  var field = document.getElementById(select.getAttribute("data-insert-into"));
  if (source && field) {
    field.value = source.content ? source.content.textContent : source.textContent;
    field.focus();
  }
});

// Suggested answers: "Insert into reply" puts the suggestion's text (a <template> in the
// panel) into the reply field at the cursor, after what the agent has written so far.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-insert-into][data-insert-from]");
  if (!button) {
    return;
  }
  var source = document.getElementById(button.getAttribute("data-insert-from"));
  var field = document.getElementById(button.getAttribute("data-insert-into"));
  if (!source || !field) {
    return;
  }
  var text = source.content ? source.content.textContent : source.textContent;
  var at = typeof field.selectionStart === "number" && document.activeElement === field ? field.selectionStart : field.value.length;
  var before = field.value.slice(0, at);
  var after = field.value.slice(at);
  var glue = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
  field.value = before + glue + text + after;
  field.focus();
  var end = (before + glue + text).length;
  field.setSelectionRange(end, end);
  field.scrollIntoView({ block: "center" });
});
