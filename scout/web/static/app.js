// Progressive enhancement only: every page works without this file.
// Changing a filter select re-runs the search at once.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  }
});
