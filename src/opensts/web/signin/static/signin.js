// Progressive enhancement only: every page works without it.
"use strict";

// "Copy code" on the verification page: the Clipboard API where the page is a secure
// context (https, or loopback), else the selection and execCommand, the older route.
function copyFrom(button) {
  const source = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.status);
  const said = (text) => { if (status) { status.textContent = text; } };
  const fallback = () => {
    source.focus();
    source.select();
    said(document.execCommand("copy") ? "Copied." : "Select the code and copy it.");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.value.trim()).then(() => said("Copied."), fallback);
  } else {
    fallback();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => copyFrom(button));
  }
  // "Go back" only when there is a page of this site to go back to (not in a tab the
  // terminal opened). The Navigation API lists this origin's entries only; without it,
  // any earlier entry counts.
  const earlier = window.navigation && window.navigation.currentEntry
    ? window.navigation.currentEntry.index > 0 : window.history.length > 1;
  if (earlier) {
    for (const link of document.querySelectorAll("a[data-back]")) {
      link.closest(".way-back").hidden = false;
      link.addEventListener("click", (event) => { event.preventDefault(); history.back(); });
    }
  }
});
