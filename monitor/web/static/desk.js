// The desk's only script (served from the package; the CSP allows no inline script).
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll('#matches input[name="ids"]')) box.checked = all.checked;
    });
  }
  for (const button of document.querySelectorAll("button.danger")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm("Remove it? This cannot be undone.")) event.preventDefault();
    });
  }
});
