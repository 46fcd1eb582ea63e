// The portal works without scripts; this only says at once when a chosen file is too
// large, instead of after the upload (the server checks again either way).
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  const form = input.form;
  const limit = Number(form && form.dataset.maxBytes);
  const message = document.getElementById("files-error");
  if (!limit || !message) return;
  const tooLarge = Array.from(input.files || []).filter((file) => file.size > limit);
  if (tooLarge.length) {
    message.textContent = `${message.dataset.tooLarge} ${tooLarge.map((file) => file.name).join(", ")}`;
    message.hidden = false;
    input.setAttribute("aria-invalid", "true");
  } else {
    message.textContent = "";
    message.hidden = true;
    input.removeAttribute("aria-invalid");
  }
});
