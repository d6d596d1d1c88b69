// News banner (templates/_news_banner.html): "Dismiss" marks the item read through the REST API and removes it
// from the page without a reload (an upload in progress on the page goes on). Without JavaScript the form posts
// to /news/<id>/dismiss, which redirects back.
(function () {
  "use strict";
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form.news-dismiss");
    if (!form) return;
    event.preventDefault();
    const banner = form.closest("[data-news-id]");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await fetch(`/api/v1/news/${encodeURIComponent(banner.dataset.newsId)}/read`, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
      });
      if (!response.ok) {
        let message = `could not dismiss (HTTP ${response.status})`;
        try { message = (await response.json()).error.message || message; } catch (ignored) { /* not JSON */ }
        throw new Error(message);
      }
      const list = banner.parentElement;
      banner.remove();
      if (list && !list.querySelector("[data-news-id]")) list.remove();
    } catch (error) {
      button.disabled = false;
      let note = form.querySelector(".error");
      if (!note) {
        note = document.createElement("span");
        note.className = "error";
        note.setAttribute("role", "alert");
        form.appendChild(note);
      }
      note.textContent = error.message;
    }
  });
})();
