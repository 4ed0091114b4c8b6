// The status page's refresh and buttons.  No framework, no external assets.
"use strict";

const REFRESH_MS = 2000;

function openDetails(root) {
  return new Set(Array.from(root.querySelectorAll("details[open] > summary"), (s) => s.textContent));
}

async function refresh() {
  const main = document.getElementById("status");
  try {
    const response = await fetch("/status/fragment", { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) { window.location.href = "/login"; return; }
    if (!response.ok) { return; }
    const keep = openDetails(main);
    const notice = main.querySelector(".notice");
    main.innerHTML = await response.text();
    for (const summary of main.querySelectorAll("details > summary")) {
      if (keep.has(summary.textContent)) { summary.parentElement.open = true; }
    }
    if (notice) { main.prepend(notice); }
  } catch (err) {
    // The proxy may be restarting; try again at the next tick.
  }
}

async function answer(button, action) {
  const main = document.getElementById("status");
  button.disabled = true;
  const response = await fetch("/" + action, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ session_id: button.dataset.session, id: button.dataset.id }),
  });
  // An ActionReport says what happened in "message"; a refusal (ApiError) says why in "error".
  let message = response.statusText;
  try {
    const body = await response.json();
    message = body.message || body.error || message;
  } catch (err) { /* not JSON */ }
  let notice = main.querySelector(".notice");
  if (!notice) {
    notice = document.createElement("p");
    notice.className = "notice";
    main.prepend(notice);
  }
  notice.textContent = message;
  await refresh();
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.confirm, button.cancel");
  if (button) { answer(button, button.classList.contains("confirm") ? "confirm" : "cancel"); }
});

setInterval(refresh, REFRESH_MS);
