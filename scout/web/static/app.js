// Progressive enhancement only: every page works without this file.
// Changing a filter select re-runs the search at once.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form && select.form.requestSubmit());
  }
  for (const form of document.querySelectorAll("form.judge-form")) {
    form.addEventListener("submit", (event) => judge(event, form));
  }
});

const STATE_LABELS = { relevant: "relevant", not_relevant: "not relevant", shortlisted: "shortlisted" };

// Judgements run one at a time, each with the ranking it refreshes: a second click while the first one's
// ranking is still on its way would otherwise be drawn into the list that ranking replaces, and be lost.
// While any is under way the page says so (aria-busy on the body), for screen readers and for tests.
let judging = Promise.resolve();
let pending = 0;

// Judge without a page reload: post the same form, ask for JSON, then update the match in place
// (shortlisted ones move to the top, not-relevant ones hide unless the page shows them).
function judge(event, form) {
  event.preventDefault();
  // URL-encoded, as the form itself would post without this script; read as clicked (an Undo takes off the
  // judgement shown then, so a second click undoes nothing more)
  const body = new URLSearchParams(new FormData(form, event.submitter));
  pending += 1;
  document.body.setAttribute("aria-busy", "true");
  // a failure is reported and the queue goes on: one judgement's error must not stop the ones clicked after it
  judging = judging.then(() => judgeNow(currentForm(form), body)).catch((error) => console.error(error)).finally(() => {
    pending -= 1;
    if (pending === 0) document.body.removeAttribute("aria-busy");
  });
  return judging;
}

async function judgeNow(form, body) {
  let response;
  try {
    response = await fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" } });
  } catch (err) {
    return showError(form, "The server did not answer; the judgement was not saved.");
  }
  if (!response.ok) {
    let detail = `error ${response.status}`;
    try { detail = (await response.json()).detail || detail; } catch (err) { /* not JSON */ }
    return showError(form, detail);
  }
  const result = await response.json();
  const state = result.state || "";
  // the judgement now standing is the one the next Undo takes off (after an Undo: the one before it)
  const shown = form.querySelector("input[name=judgement]");
  if (shown) shown.value = result.id == null ? "" : String(result.id);
  const box = form.querySelector(".judge-error");
  if (box) box.remove();
  const label = form.querySelector(".judge-state");
  const before = label.dataset.state || "";
  label.dataset.state = state;
  label.textContent = STATE_LABELS[state] || "";
  // who and when as the server writes it on the page (its zone, named), not the browser's UTC day
  form.querySelector(".judge-by").textContent = state ? (result.by || result.user) : "";
  const note = form.querySelector(".judge-note");
  if (note) note.value = result.note || "";
  const judgeRow = form.closest("tr.org-need-judge");  // the organization page: the controls' own row
  const orgPageRow = judgeRow && judgeRow.previousElementSibling;
  if (orgPageRow) {  // the organization page: one row per need, nothing to pin or hide
    orgPageRow.dataset.state = state;
    form.dispatchEvent(new CustomEvent("judged", { bubbles: true, detail: result }));
    return;
  }
  const showing = document.querySelector(".match-list.show-rejected") !== null;
  const rows = result.target === "document"
    ? [form.closest("li.match")]
    : Array.from(document.querySelectorAll("tr[data-org-key]")).filter((r) => r.dataset.orgKey === result.target_id);
  for (const row of rows) {
    row.dataset.state = state;
    row.hidden = state === "not_relevant" && !showing;
  }
  if (state === "shortlisted") {
    const first = rows[0];
    const list = first.parentElement;
    for (const row of rows.slice().reverse()) list.prepend(row);
  }
  const count = document.querySelector(".rejected-count");
  if (count) count.textContent = String(document.querySelectorAll("li.match[data-state=not_relevant]").length);
  // a document's judgement moves the ranking; an organization's, its row's place (shortlisted ones are pinned)
  if (state !== before) await refreshRanking();
  if (result.message) showError(currentForm(form), result.message);  // "Nothing to undo: ..."
  // the form may have been replaced by the server's ranking: then the document hears it
  (form.isConnected ? form : document).dispatchEvent(new CustomEvent("judged", { bubbles: true, detail: result }));
}

// A document's judgement moves the need's ranking (relevance feedback: the order, its places and the notes
// that say which matches it moved; one judged not relevant goes last and numbers close up behind it) and the
// organizations beside it (one judged not relevant vouches for none). Both are the server's, read again, not
// worked out here, so the page reads as a reload reads; a note typed and not yet saved is kept. On failure
// they stay as they were, and a reload shows the server's.
async function refreshRanking() {
  const parts = ["aside.orgs", "section.matches > h2", "ol.match-list", ".rejected-count"];
  if (!parts.some((selector) => document.querySelector(selector))) return;
  try {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const typed = new Map();
    for (const input of document.querySelectorAll("form.judge-form .judge-note")) {
      if (input.value !== input.defaultValue) typed.set(formKey(input.form), input.value);
    }
    for (const selector of parts) {
      const old = document.querySelector(selector);
      const fresh = page.querySelector(selector);
      if (!old || !fresh) continue;
      old.replaceWith(fresh);
      for (const form of fresh.querySelectorAll("form.judge-form")) {
        form.addEventListener("submit", (event) => judge(event, form));
        const note = form.querySelector(".judge-note");
        if (note && typed.has(formKey(form))) note.value = typed.get(formKey(form));
      }
    }
  } catch (err) { /* the page stays as it was */ }
}

// The form on the page now for the same target as `form` (the server's ranking may have replaced it).
function currentForm(form) {
  if (form.isConnected) return form;
  const key = formKey(form);
  return Array.from(document.querySelectorAll("form.judge-form")).find((f) => formKey(f) === key) || form;
}

// One judge form on the page: its need, its kind of target and the target.
function formKey(form) {
  const id = form.querySelector("input[name=target_id]");
  return `${form.action}|${form.dataset.target}|${id ? id.value : ""}`;
}

function showError(form, message) {
  let box = form.querySelector(".judge-error");
  if (!box) {
    box = document.createElement("span");
    box.className = "judge-error error";
    box.setAttribute("role", "alert");
    form.append(box);
  }
  box.textContent = message;
}
