// Polls an unfinished export and reloads the page once it is done; without JavaScript the
// page refreshes itself.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("export-progress");
  if (!box || box.dataset.finished === "1") return;
  const tick = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" } });
      const state = await response.json();
      document.getElementById("export-bar").value = state.progress;
      document.getElementById("export-percent").textContent = `${state.progress}%`;
      document.getElementById("export-note").textContent = state.note;
      if (state.finished) { window.location.reload(); return; }
    } catch (error) { /* keep polling: a transient failure should not stop the page */ }
    setTimeout(tick, 1500);
  };
  setTimeout(tick, 1000);
});
