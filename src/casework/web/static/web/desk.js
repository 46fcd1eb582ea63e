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
